require "json"
h = { :sym => 1, "str" => 2, 3 => "int key", nil => "nil key", 1.5 => :float_key }
puts JSON.generate(h)
parsed = JSON.parse(JSON.generate(h))
puts parsed.keys.inspect
puts parsed.values.inspect
puts JSON.generate([:a, :b])
JSON.parse('{"a":1,"a":2}')
