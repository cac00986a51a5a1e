tests = {
  "zero division" => -> { 1 / 0 },
  "nil method" => -> { nil.upcase },
  "type" => -> { 1 + "2" },
  "argument" => -> { [].first(-1) },
  "key" => -> { {}.fetch(:missing) },
  "index" => -> { [1].fetch(5) },
  "conversion" => -> { Integer("abc") },
  "float conv" => -> { Float("1.2.3") },
  "frozen" => -> { "x".freeze << "y" },
  "name" => -> { Undefined::Thing },
  "method" => -> { 5.undefined_thing(1) },
}
tests.each do |label, fn|
  fn.call
rescue => e
  puts "#{label}: #{e.class}: #{e.message}"
end
tests.size
