nums = [3, 1, 4, 1, 5, 9, 2, 6]
puts nums.inject(:+)
puts nums.reduce(1) { |acc, n| acc * n }
puts nums.inject { |a, b| a > b ? a : b }
longest = %w[pear banana fig kiwi].reduce { |a, b| a.length >= b.length ? a : b }
puts longest
running = nums.each_with_object([]) { |n, acc| acc << (acc.last || 0) + n }
puts running.inspect
nums.sum.fdiv(nums.size)
