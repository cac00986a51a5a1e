def fib(n, memo = {})
  return n if n < 2
  memo[n] ||= fib(n - 1, memo) + fib(n - 2, memo)
end

puts (0..15).map { |i| fib(i) }.inspect
puts fib(90)
fib_hash = Hash.new { |h, k| h[k] = k < 2 ? k : h[k - 1] + h[k - 2] }
puts fib_hash[100]
fib(30).digits.size
