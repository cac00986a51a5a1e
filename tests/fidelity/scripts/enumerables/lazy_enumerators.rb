squares = (1..Float::INFINITY).lazy.map { |n| n * n }.select(&:even?).first(5)
puts squares.inspect
fib = Enumerator.new do |y|
  a, b = 0, 1
  loop { y << a; a, b = b, a + b }
end
puts fib.take(10).inspect
puts fib.lazy.select(&:odd?).first(5).inspect
e = [10, 20, 30].each
puts e.next, e.next
e.size
