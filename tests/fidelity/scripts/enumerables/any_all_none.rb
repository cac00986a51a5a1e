nums = [2, 4, 6, 9]
puts nums.all?(&:even?)
puts nums.any?(&:odd?)
puts nums.none? { |n| n > 10 }
puts nums.one? { |n| n > 5 && n < 7 }
puts [].all?, [].any?
puts [nil, false].none?
puts %w[ant bear cat].any?(/b/)
puts [1, 2.0, 3r].all?(Numeric)
nums.include?(6) && !nums.include?(7)
