codes = { us: "USD", de: "EUR", fr: "EUR", jp: "JPY" }
by_currency = codes.each_with_object({}) { |(country, cur), acc| (acc[cur] ||= []) << country }
puts by_currency.inspect
puts codes.invert.inspect
puts codes.values.tally.inspect
puts codes.count { |_, cur| cur == "EUR" }
puts codes.find { |_, cur| cur == "JPY" }.inspect
codes.key("EUR")
