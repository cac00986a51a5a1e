orders = [
  { region: "north", month: 1, amount: 120.5 },
  { region: "south", month: 1, amount: 80.25 },
  { region: "north", month: 2, amount: 99.75 },
  { region: "south", month: 2, amount: 10.0 },
  { region: "north", month: 2, amount: 0.5 },
]
totals = orders.each_with_object(Hash.new(0)) { |o, acc| acc[[o[:region], o[:month]]] += o[:amount] }
totals.sort.each { |(region, month), amount| puts "#{region} m#{month}: #{amount}" }
by_region = orders.group_by { |o| o[:region] }.transform_values { |os| os.sum { |o| o[:amount] } }
by_region
