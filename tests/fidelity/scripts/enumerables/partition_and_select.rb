nums = [5, 12, 7, 30, 1, 18, 9]
evens, odds = nums.partition(&:even?)
puts "evens=#{evens} odds=#{odds}"
puts nums.select { |n| n > 8 }.inspect
puts nums.reject { |n| n > 8 }.inspect
puts nums.find { |n| n > 10 }
puts nums.find_index(30)
puts nums.take_while { |n| n < 20 }.inspect
puts nums.drop_while { |n| n < 20 }.inspect
nums.sort.reverse.first(3)
