budget = { "marketing" => 50_000, "salaries" => 320_000, "travel" => 18_000, "software" => 24_000 }
actual = { "marketing" => 61_250.75, "salaries" => 318_400, "travel" => 9_875.5, "software" => 24_000 }
rows = budget.map do |dept, planned|
  spent = actual.fetch(dept, 0)
  variance = spent - planned
  pct = (variance * 100.0 / planned).round(1)
  status = if pct > 5 then "OVER" elsif pct < -5 then "under" else "ok" end
  [dept, planned, spent, variance, pct, status]
end
rows.sort_by { |r| -r[4] }.each do |dept, planned, spent, variance, pct, status|
  puts format("%-10s %9d %11.2f %+10.2f %+6.1f%% %s", dept, planned, spent, variance, pct, status)
end
rows.count { |r| r.last == "OVER" }
