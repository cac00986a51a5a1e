def humanize(seconds)
  days, rem = seconds.divmod(86_400)
  hours, rem = rem.divmod(3600)
  mins, secs = rem.divmod(60)
  parts = []
  parts << "#{days}d" if days > 0
  parts << "#{hours}h" if hours > 0
  parts << "#{mins}m" if mins > 0
  parts << "#{secs}s" if secs > 0 || parts.empty?
  parts.join(" ")
end

[0, 59, 61, 3600, 3661, 90_061, 1_000_000].each { |s| puts "#{s.to_s.rjust(8)} -> #{humanize(s)}" }
t1 = Time.at(1_600_000_000).utc
t2 = Time.at(1_600_100_000).utc
humanize((t2 - t1).to_i)
