def greet(name, greeting: "Hello")
  "#{greeting}, #{name}"
end

puts greet("Ann")
puts greet("Bob", greeting: "Hi")
attempts = [
  -> { greet },
  -> { greet("a", "b") },
  -> { greet("a", salute: "x") },
  -> { [1, 2].first("x") },
  -> { :sym.unknown_method },
]
attempts.each do |a|
  a.call
rescue ArgumentError, TypeError, NoMethodError => e
  puts e.class
end
attempts.size
