h = {}
h[:c] = 3
h[:a] = 1
h[:b] = 2
h.delete(:a)
h[:a] = 10
puts h.keys.inspect
h.each_pair { |k, v| print k, "=", v, " " }
puts
puts h.each_with_index.map { |(k, v), i| "#{i}:#{k}:#{v}" }.join(" ")
puts h.first.inspect
puts h.sum { |_, v| v }
h.to_a.flatten
