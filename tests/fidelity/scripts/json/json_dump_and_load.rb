require "json"
state = { "counter" => 3, "history" => [1, 2, 3] }
saved = JSON.dump(state)
puts saved
restored = JSON.load(saved)
restored["counter"] += 1
restored["history"] << 4
puts JSON.generate(restored)
puts JSON.parse("[]").empty?, JSON.parse("{}").inspect
puts JSON.parse("3"), JSON.parse('"str"')
restored
