def divide(a, b)
  raise ZeroDivisionError, "cannot divide #{a} by zero" if b.zero?
  a / b
end

puts divide(10, 2)
puts divide(7, 0)
