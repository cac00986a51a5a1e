make_counter = lambda do
  count = 0
  increment = -> { count += 1 }
  read = proc { count }
  [increment, read]
end

inc, read = make_counter.call
3.times { inc.() }
puts read.call
square = ->(x) { x * x }
add = proc { |a, b| (a || 0) + (b || 0) }
puts square[4], add.call(1), add.(1, 2, 3)
puts square.lambda?, add.lambda?, square.arity, add.arity
compose = square >> ->(x) { x + 1 }
puts compose.call(3), (square << ->(x) { x + 1 }).call(3)
puts [1, 2, 3].map(&square).inspect
adder = ->(a, b) { a + b }.curry
puts adder[10][5]
%w[a b].each_with_object([]).with_index { |(s, acc), i| acc << s * (i + 1) }
