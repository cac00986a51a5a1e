classes = [StandardError, RuntimeError, ArgumentError, TypeError, NameError, NoMethodError, ZeroDivisionError, KeyError, IndexError, StopIteration, FrozenError, RangeError, FloatDomainError, IOError]
classes.each { |c| puts "#{c.name.ljust(18)} < #{c.superclass}" }
puts NoMethodError.ancestors.include?(NameError)
puts KeyError < IndexError, StopIteration < IndexError
puts (Exception > StandardError)
begin
  raise ArgumentError
rescue => e
  puts e.message.inspect
end
classes.count { |c| c <= StandardError }
