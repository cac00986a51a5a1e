PLANS = { basic: 9.99, pro: 29.0, team: 79.5 }.freeze
DAY = 86_400
subs = [
  { user: "u1", plan: :basic, start: Time.utc(2024, 1, 15), months: 3 },
  { user: "u2", plan: :pro, start: Time.utc(2024, 2, 1), months: 1 },
  { user: "u3", plan: :team, start: Time.utc(2024, 3, 10), months: 12 },
]
subs.each do |s|
  renews = Time.utc(s[:start].year + (s[:start].month + s[:months] - 1) / 12, (s[:start].month + s[:months] - 1) % 12 + 1, s[:start].day)
  cost = (PLANS[s[:plan]] * s[:months]).round(2)
  cost *= 0.8 if s[:months] >= 12
  puts "#{s[:user]} #{s[:plan].to_s.ljust(5)} #{s[:start].strftime('%Y-%m-%d')} -> #{renews.strftime('%Y-%m-%d')} $#{format('%.2f', cost)}"
end
revenue = subs.sum { |s| PLANS[s[:plan]] * s[:months] * (s[:months] >= 12 ? 0.8 : 1) }
revenue.round(2)
