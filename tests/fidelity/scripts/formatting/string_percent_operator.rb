puts "%s and %s" % %w[salt pepper]
puts "%-6s|" % :sym
puts "%c%c" % [72, "i"]
puts "%5.1f%%" % 99.44
puts "%s" % nil.inspect
puts "%p %p" % ["str", :sym]
puts "%d" % 3.99
puts "%.3s" % "abcdef"
puts "%%d literal"
"%s" % [[1, 2]]
