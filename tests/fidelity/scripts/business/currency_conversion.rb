RATES = { "USD" => 1.0, "EUR" => 0.92, "GBP" => 0.79, "JPY" => 151.37 }.freeze

def convert(amount, from, to)
  usd = amount / RATES.fetch(from)
  result = usd * RATES.fetch(to)
  to == "JPY" ? result.round : result.round(2)
end

puts convert(100, "USD", "EUR")
puts convert(100, "EUR", "GBP")
puts convert(2500, "GBP", "JPY")
puts convert(10_000, "JPY", "USD")
begin
  convert(1, "USD", "XYZ")
rescue KeyError => e
  puts "unknown currency"
end
RATES.keys.map { |c| [c, convert(50, "USD", c)] }.to_h
