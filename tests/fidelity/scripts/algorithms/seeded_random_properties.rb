# What a seeded generator promises in any Ruby: the same seed gives the same
# sequence, shuffle is a permutation, sample picks distinct elements, rand(range)
# stays in range. (The numbers themselves are in seeded_shuffle.rb: they differ.)
deck = %w[A K Q J 10 9 8 7]
puts deck.shuffle(random: Random.new(42)) == deck.shuffle(random: Random.new(42))
puts deck.shuffle(random: Random.new(42)).sort == deck.sort
picked = deck.sample(3, random: Random.new(7))
puts picked.size, picked.uniq.size, (picked - deck).empty?
rng = Random.new(5)
rolls = Array.new(200) { rng.rand(1..6) }
puts rolls.minmax.inspect, rolls.all? { |r| r.is_a?(Integer) }
srand(2024)
first = [rand(100), rand]
srand(2024)
puts first == [rand(100), rand], first[1].between?(0.0, 1.0)
Random.new(1).bytes(4).bytesize
