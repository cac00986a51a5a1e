t = Time.utc(2021, 7, 4, 12, 0, 0)
puts t
puts t.to_s
puts t.inspect
puts "#{t}"
puts t.utc?
puts t.zone
puts [t].inspect
t
