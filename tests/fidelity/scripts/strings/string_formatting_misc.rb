amount = 1234567.891
puts amount.to_i.to_s.reverse.scan(/\d{1,3}/).join(",").reverse
puts "%s has %d items totaling %.2f" % ["cart", 3, 19.989]
puts "Name: %-10s|" % "Bob"
puts "%05d" % 42
puts "%x %o %b %e" % [255, 8, 5, 12345.678]
puts "%+.1f%%" % 12.345
name = nil
puts "Hello, #{name || 'guest'}!"
"%08.3f" % 3.14159
