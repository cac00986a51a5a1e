n = 1_234_567
puts n.to_s(2), n.to_s(16), n.to_s(36)
puts n.digits.first(3).inspect
puts "%010d" % n, "%x" % n, "%#x" % n, "%#o" % 8, "%b" % 10, "%08b" % 10
puts 255.to_s(16).rjust(4, "0")
puts "ff".to_i(16), "0b1010".to_i(0), "z".to_i(36), "12abc".to_i, "abc".to_i
puts Integer("42"), Integer("0x1A", 16) rescue puts "err"
puts 10.pow(3), 2**10, 7 / 2, -7 / 2, 7 % 3, -7 % 3, 7.remainder(-3)
n.to_s.length
