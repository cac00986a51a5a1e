require "time"
t = Time.utc(2023, 12, 31, 8, 5, 9)
puts t.iso8601
puts t.strftime("%Y-%m-%dT%H:%M:%S%z")
puts t.strftime("%FT%T%:z")
puts Time.at(0).utc.iso8601
puts (t + 0.5).iso8601(3)
t.inspect
