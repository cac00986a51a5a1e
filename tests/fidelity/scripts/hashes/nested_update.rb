stats = Hash.new { |h, k| h[k] = { count: 0, total: 0 } }
events = [["login", 3], ["search", 12], ["login", 5], ["logout", 1], ["search", 4]]
events.each do |name, ms|
  stats[name][:count] += 1
  stats[name][:total] += ms
end
stats.each do |name, s|
  puts format("%-7s count=%d avg=%.1f", name, s[:count], s[:total].to_f / s[:count])
end
stats.transform_values { |s| s[:total] }
