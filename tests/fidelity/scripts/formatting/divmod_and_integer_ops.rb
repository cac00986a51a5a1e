puts 17.divmod(5).inspect, -17.divmod(5).inspect, 17.5.divmod(5).inspect
puts 100.gcd(75), 4.lcm(6), 255.bit_length, Integer.sqrt(50)
puts 10.clamp(1, 5), -3.abs, 3.zero?, 0.zero?, 5.positive?, -5.negative?
puts 3.7 % 1, 2**0.5 * 2**0.5
puts 1234.digits.sum, 6.pred, 6.succ
puts 10.0.floor, 9.99.ceil, 5.fdiv(2)
[7.0 / 2, 7 / 2.0, 7.0.floor / 2]
