expenses = <<~CSV
  2024-03-02,travel,Taxi to airport,45.50
  2024-03-02,meals,Lunch with client,62.35
  2024-03-03,lodging,Hotel 2 nights,389.00
  2024-03-04,meals,Dinner,28.90
  2024-03-04,travel,Train,19.00
CSV
rows = expenses.lines.map do |line|
  date, category, desc, amount = line.chomp.split(",")
  { date: date, category: category.to_sym, desc: desc, amount: amount.to_f }
end
by_cat = rows.group_by { |r| r[:category] }
by_cat.each do |cat, rs|
  puts "#{cat.to_s.capitalize}:"
  rs.each { |r| puts "  #{r[:date]} #{r[:desc].ljust(20)} #{format('%8.2f', r[:amount])}" }
  puts "  #{'subtotal'.rjust(31)} #{format('%8.2f', rs.sum { |r| r[:amount] })}"
end
total = rows.sum { |r| r[:amount] }
puts "TOTAL #{format('%.2f', total)}"
by_cat.transform_values { |rs| rs.sum { |r| r[:amount] }.round(2) }
