counts = Hash.new(0)
"mississippi".each_char { |c| counts[c] += 1 }
puts counts.inspect
lists = Hash.new { |h, k| h[k] = [] }
[[:fruit, "apple"], [:veg, "kale"], [:fruit, "fig"]].each { |kind, name| lists[kind] << name }
puts lists.inspect
puts lists[:nuts].inspect
puts lists.keys.inspect
counts.default
