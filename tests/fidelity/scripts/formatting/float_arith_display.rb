a = 0.1
b = 0.2
puts a + b, a + b == 0.3, (a + b - 0.3).abs < Float::EPSILON
puts 10.0 / 4, 10 / 4, 10.0.to_i, 10.9.to_i, -10.9.to_i
puts 3.0 * 1.1, 100.0 / 3.0, 2.0**0.5, 10.0**-2
puts 1e3.to_i, 5e-1
puts (0.1 * 3).round(15), 0.1 * 3
puts Float::INFINITY, -Float::INFINITY, (0.0 / 0.0).nan?
puts 1.0.to_r rescue puts "no to_r"
[1.5.floor, 1.5.ceil, -1.5.round, 1e2.to_i]
