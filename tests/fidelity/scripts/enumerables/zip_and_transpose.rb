names = %w[ann bob cid]
ages = [31, 25, 40]
cities = %w[Oslo Rome Lima]
rows = names.zip(ages, cities)
rows.each { |n, a, c| puts "#{n} (#{a}) - #{c}" }
puts rows.transpose.inspect
puts names.zip(ages).sort_by { |_, a| a }.map(&:first).inspect
puts [1, 2, 3].zip([4, 5, 6]).map { |a, b| a * b }.sum
rows.to_h { |n, a, _| [n.to_sym, a] }
