def collatz_length(n)
  steps = 1
  until n == 1
    n = n.even? ? n / 2 : 3 * n + 1
    steps += 1
  end
  steps
end

best = (1..10_000).max_by { |n| collatz_length(n) }
puts "longest under 10000: #{best} (#{collatz_length(best)} steps)"
armstrong = (100..999).select { |n| n.digits.sum { |d| d**3 } == n }
puts armstrong.inspect
puts (1..20).reduce(:lcm)
digit_sum = (2**100).digits.sum
digit_sum
