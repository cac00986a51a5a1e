nums = (1..10).to_a
nums.each_slice(3) { |s| puts s.inspect }
puts nums.each_cons(4).map(&:sum).inspect
pairs = nums.each_slice(2).map { |a, b| a * b }
puts pairs.inspect
nums.each_slice(4).to_a.last
