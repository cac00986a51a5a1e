puts (1..10).step(3).to_a.inspect
puts 1.step(10, 4).to_a.inspect
puts ('a'..'e').to_a.join
puts (1...10).select(&:even?).inspect
puts (1..4).each_slice(2).to_a.inspect
puts 10.downto(7).to_a.inspect
puts 3.times.map { |i| i * 10 }.inspect
puts (1..100).sum, (1..5).reduce(:*)
puts (1..10).include?(5.5), (1..10) === 3
r = (5..15)
[r.min, r.max, r.size, r.cover?(15)]
