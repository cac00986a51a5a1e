def currency(amount, unit: "$", precision: 2)
  sign = amount.negative? ? "-" : ""
  whole, frac = format("%.#{precision}f", amount.abs).split(".")
  whole = whole.reverse.scan(/\d{1,3}/).join(",").reverse
  "#{sign}#{unit}#{whole}#{frac ? '.' + frac : ''}"
end

[0, 5, 1234.5, 1_000_000, -987_654.321, 0.005, 12.345].each { |v| puts currency(v) }
puts currency(99.9, unit: "€", precision: 0)
currency(1234567.891)
