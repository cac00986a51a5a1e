require "set"
people = [["ann", 30], ["bob", 25], ["ann", 31], ["cy", 25]]
puts people.uniq(&:first).inspect
puts people.uniq { |_, age| age }.inspect
seen = Set.new
dups = people.map(&:first).select { |n| !seen.add?(n) }
puts dups.inspect
a = Set[1, 2, 3]
b = Set[2, 3, 4]
puts (a | b).to_a.inspect, (a & b).to_a.inspect, (a - b).to_a.inspect
puts a.subset?(Set[1, 2, 3, 4]), a.include?(2)
[1, 2, 2, 3].to_set.size
