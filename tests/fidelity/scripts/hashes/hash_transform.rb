prices = { apple: 1.2, bread: 2.5, cheese: 7.0 }
puts prices.transform_values { |v| (v * 1.1).round(2) }.inspect
puts prices.transform_keys(&:to_s).inspect
puts prices.map { |k, v| [k.to_s.upcase, v] }.to_h.inspect
puts prices.to_h { |k, v| [k, v * 2] }.inspect
puts prices.filter_map { |k, v| k if v > 2 }.inspect
prices.min_by { |_, v| v }
