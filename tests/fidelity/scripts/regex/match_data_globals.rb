if "John Smith, age 42" =~ /(\w+) (\w+), age (\d+)/
  puts $1, $2, $3.to_i + 1
  puts $~[0]
  puts $~.pre_match.inspect, $~.post_match.inspect
end
m = "key=value; other=thing".match(/(\w+)=(\w+)/)
puts m.captures.inspect
puts m.begin(0), m.end(2)
puts m.to_a.inspect
puts "no digits" =~ /\d/
"abc" =~ /c/
