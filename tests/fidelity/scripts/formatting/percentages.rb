results = { "pass" => 47, "fail" => 2, "skip" => 1 }
total = results.values.sum
results.each do |k, v|
  pct = v * 100.0 / total
  puts "#{k.ljust(5)} #{v.to_s.rjust(3)} #{pct.round(1).to_s.rjust(5)}% #{format('%.1f%%', pct)}"
end
ratio = results["pass"].fdiv(total)
puts ratio, (ratio * 100).floor(2), (ratio * 100).round
puts 1.fdiv(3).round(4)
(2.0 / 3 * 100).round(2)
