keys = %w[a b c]
values = [1, 2, 3]
h = keys.zip(values).to_h
puts h.inspect
puts Hash[[["x", 1], ["y", 2]]].inspect
puts keys.each_with_index.to_h.inspect
puts values.to_h { |v| [v, v * v] }.inspect
puts h.filter_map { |k, v| "#{k}#{v}" if v.odd? }.inspect
h.sum { |_, v| v }
