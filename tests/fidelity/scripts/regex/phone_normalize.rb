numbers = ["(555) 123-4567", "555.123.4567", "+1 555 123 4567", "5551234567", "123-45"]
normalized = numbers.map do |raw|
  digits = raw.gsub(/\D/, "")
  digits = digits[1..] if digits.length == 11 && digits.start_with?("1")
  if digits =~ /\A(\d{3})(\d{3})(\d{4})\z/
    "(#{$1}) #{$2}-#{$3}"
  else
    "invalid: #{raw}"
  end
end
puts normalized
normalized.count { |n| n.start_with?("(") }
