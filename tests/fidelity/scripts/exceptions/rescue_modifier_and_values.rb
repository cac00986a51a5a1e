value = Integer("x") rescue -1
puts value
safe = [1, 2, 0, 4].map { |n| 12 / n rescue Float::INFINITY }
puts safe.inspect
result = begin
  Float("3.5")
rescue ArgumentError
  0.0
end
puts result
def parse(s)
  Integer(s)
rescue ArgumentError, TypeError
  nil
end
puts [parse("10"), parse("1x"), parse(nil)].inspect
x = (raise "boom" rescue $!.message)
puts x
value
