t = Time.at(1_700_000_000).utc
puts t.strftime("%Y-%m-%d %H:%M:%S")
puts t.strftime("%a %b %e %Y")
puts t.strftime("%A, %B %d, %Y at %I:%M %p")
puts t.strftime("%j %U %u %w %y %Z")
puts t.strftime("%-m/%-d/%y %l%P")
puts t.year, t.month, t.day, t.hour, t.min, t.sec, t.wday, t.yday
t.to_i
