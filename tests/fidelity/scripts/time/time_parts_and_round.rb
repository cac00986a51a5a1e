t = Time.at(1_718_000_123.987654).utc
puts t.sec, t.usec / 1000, t.nsec > 0
puts t.strftime("%H:%M:%S.%L")
puts t.strftime("%s")
puts Time.at(t.to_i - t.to_i % 3600).utc.strftime("%F %T")
rounded = Time.at((t.to_i / 900.0).round * 900).utc
puts rounded.strftime("%H:%M")
t.monday? || t.tuesday?
