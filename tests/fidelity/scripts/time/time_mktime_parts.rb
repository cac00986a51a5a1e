t = Time.gm(2022, "jan", 31, 10, 20, 30)
puts t.strftime("%F %T")
next_month = Time.utc(t.year + (t.month == 12 ? 1 : 0), t.month % 12 + 1, 1)
puts next_month.strftime("%F")
puts (next_month - 1).strftime("%F %T")
puts Time.utc(2024, 1, 1).yday, Time.utc(2024, 12, 31).yday
puts Time.utc(2024, 1, 1) <=> Time.utc(2023, 1, 1)
[t.hour, t.min, t.sec]
