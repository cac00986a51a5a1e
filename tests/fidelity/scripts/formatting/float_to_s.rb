values = [0.1 + 0.2, 1.0 / 3, 2.0 / 3, 100.0, 1e20, 1e16, 1.0e15, 123456789.123456789, 0.000123, 1e-5, -0.0, 2.5e-10, 3.14159]
values.each { |v| puts v }
puts values.map(&:to_s).inspect
puts 1.1 * 3, 0.57 * 100, 1.15 * 100
values.last(3)
