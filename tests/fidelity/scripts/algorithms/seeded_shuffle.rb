rng = Random.new(42)
deck = %w[A K Q J 10 9 8 7]
puts deck.shuffle(random: rng).join(" ")
puts deck.sample(3, random: Random.new(7)).inspect
rolls = Array.new(10) { rng.rand(1..6) }
puts rolls.inspect, rolls.tally.sort.inspect
srand(2024)
puts rand(100), rand.round(6)
Random.new(1).bytes(4).bytes
