@memo = {}
def grid_paths(r, c)
  return 1 if r.zero? || c.zero?
  @memo[[r, c]] ||= grid_paths(r - 1, c) + grid_paths(r, c - 1)
end

puts grid_paths(2, 2), grid_paths(10, 10), grid_paths(16, 16)

def coin_change(amount, coins)
  ways = Array.new(amount + 1, 0)
  ways[0] = 1
  coins.each { |c| (c..amount).each { |a| ways[a] += ways[a - c] } }
  ways[amount]
end

def min_coins(amount, coins)
  best = [0] + [Float::INFINITY] * amount
  (1..amount).each { |a| coins.each { |c| best[a] = [best[a], best[a - c] + 1].min if c <= a } }
  best[amount] == Float::INFINITY ? -1 : best[amount]
end

puts coin_change(100, [1, 5, 10, 25])
puts min_coins(63, [1, 5, 10, 21, 25]), min_coins(3, [2])
@memo.size
