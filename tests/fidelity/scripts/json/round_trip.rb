require "json"
original = { "ints" => [1, -2, 3_000_000_000], "floats" => [0.1, 2.5, -1.0e-5, 1.0e20], "nested" => [[[]]], "unicode" => "café ☕" }
text = JSON.generate(original)
puts text
back = JSON.parse(text)
puts back == original
puts back["floats"].map(&:class).uniq.inspect
back["unicode"].length
