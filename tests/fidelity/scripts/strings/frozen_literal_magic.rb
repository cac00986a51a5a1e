# frozen_string_literal: true

greeting = "hello"
puts greeting.frozen?
begin
  greeting << " world"
rescue FrozenError => e
  puts "FrozenError: #{e.message}"
end
mutable = +"hello"
mutable << " world"
puts mutable
copy = greeting.dup
copy << "!"
puts copy, "interp #{1}".frozen?
[greeting, mutable.frozen?, String.new("x").frozen?]
