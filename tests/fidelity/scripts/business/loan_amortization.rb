principal = 25_000.0
annual_rate = 0.065
months = 12
r = annual_rate / 12
payment = (principal * r / (1 - (1 + r)**-months)).round(2)
puts "monthly payment: #{format('%.2f', payment)}"
balance = principal
total_interest = 0.0
(1..months).each do |m|
  interest = (balance * r).round(2)
  principal_part = m == months ? balance : (payment - interest).round(2)
  balance = (balance - principal_part).round(2)
  total_interest += interest
  puts format("%2d %9.2f %8.2f %10.2f", m, principal_part, interest, balance) if m <= 3 || m == months
end
puts "total interest: #{total_interest.round(2)}"
balance
