fruits = %w[apple banana cherry]
fruits.each_with_index { |f, i| puts "#{i}: #{f}" }
fruits.each.with_index(1) { |f, i| puts "#{i}) #{f}" }
puts fruits.map.with_index { |f, i| "#{f}#{i}" }.inspect
puts fruits.each_with_index.select { |f, i| i.odd? }.map(&:first).inspect
puts fruits.each_index.to_a.inspect
fruits.each_with_index.to_a
