data = { a: 1.0, "b" => [nil, true, 2.5e-5], c: { d: :e }, f: "q\"uote", g: 1..3, h: 0.1 + 0.2 }
puts data.inspect
puts data.to_s
puts data.to_a.inspect
puts [1, [2, [3, nil]]].to_s
puts "#{[1, 'two', :three]}"
puts :"with space".inspect, :"a?".inspect, :a=.inspect, :[].inspect, :"9x".inspect
puts "tab\t nl\n bell\a esc\e uni\u00e9 nul\0".inspect
data
