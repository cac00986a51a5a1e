e = [1, 2, 3].each
collected = []
loop do
  collected << e.next * 10
end
puts collected.inspect
result = loop do
  break :broke
end
puts result.inspect
e2 = %w[a b].each
e2.next
e2.next
begin
  e2.next
rescue StopIteration => ex
  puts "stop: #{ex.class}"
end
x = loop { e2.next }
x.inspect
