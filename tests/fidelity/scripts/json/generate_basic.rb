require "json"
data = { name: "Widget", price: 9.99, tags: ["a", "b"], stock: nil, active: true, dims: { w: 1, h: 2.5 } }
puts JSON.generate(data)
puts data.to_json
puts [1, "two", 3.0, nil, false].to_json
puts "quote\" and \\ and \n newline".to_json
puts 42.to_json, nil.to_json, :sym.to_json
JSON.generate(data).length
