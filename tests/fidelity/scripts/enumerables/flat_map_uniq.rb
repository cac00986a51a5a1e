orders = [
  { id: 1, items: %w[pen paper] },
  { id: 2, items: %w[ink pen] },
  { id: 3, items: [] },
  { id: 4, items: %w[stapler paper pen] },
]
all = orders.flat_map { |o| o[:items] }
puts all.inspect
puts all.uniq.sort.inspect
puts all.tally.max_by { |_, n| n }.inspect
puts orders.count { |o| o[:items].empty? }
puts [[1, [2]], [3, [4, [5]]]].flatten.inspect
puts [[1, [2]], [3, [4, [5]]]].flatten(1).inspect
orders.sum { |o| o[:items].size }
