items = [["map", 9, 150], ["compass", 13, 35], ["water", 153, 200], ["sandwich", 50, 160], ["glucose", 15, 60], ["tin", 68, 45], ["banana", 27, 60], ["apple", 39, 40]]
capacity = 200
best = Array.new(capacity + 1, 0)
keep = Array.new(items.size) { Array.new(capacity + 1, false) }
items.each_with_index do |(_, w, v), i|
  capacity.downto(w) do |c|
    if best[c - w] + v > best[c]
      best[c] = best[c - w] + v
      keep[i][c] = true
    end
  end
end
chosen = []
c = capacity
(items.size - 1).downto(0) do |i|
  if keep[i][c]
    chosen << items[i][0]
    c -= items[i][1]
  end
end
puts "value #{best[capacity]}"
puts chosen.reverse.inspect
chosen.size
