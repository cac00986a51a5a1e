months = %w[Jan Feb Mar Apr May Jun]
revenue = [12_500, 13_200, 11_800, 15_400, 16_100, 15_950]
costs = [9_000, 9_100, 9_400, 10_200, 10_800, 11_000]
puts "Month  Revenue    Costs   Margin  Growth"
months.each_with_index do |m, i|
  margin = (revenue[i] - costs[i]) * 100.0 / revenue[i]
  growth = i.zero? ? "-" : format("%+.1f%%", (revenue[i] - revenue[i - 1]) * 100.0 / revenue[i - 1])
  puts format("%-5s %8d %8d %7.1f%% %7s", m, revenue[i], costs[i], margin, growth)
end
best = months.zip(revenue).max_by(&:last)
puts "best month: #{best.first}"
avg = revenue.sum / revenue.size.to_f
{ average: avg.round(1), above_avg: months.select.with_index { |_, i| revenue[i] > avg } }
