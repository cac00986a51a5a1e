employees = [
  { name: "Alice", rate: 42.50, hours: [8, 8, 9, 8, 10] },
  { name: "Bob", rate: 28.00, hours: [8, 8, 8, 8, 8] },
  { name: "Carmen", rate: 35.75, hours: [10, 10, 10, 10, 6] },
]
OVERTIME_AFTER = 40
report = employees.map do |e|
  total = e[:hours].sum
  regular = [total, OVERTIME_AFTER].min
  overtime = [total - OVERTIME_AFTER, 0].max
  pay = regular * e[:rate] + overtime * e[:rate] * 1.5
  { name: e[:name], hours: total, overtime: overtime, pay: pay.round(2) }
end
puts "Name      Hours   OT        Pay"
report.each { |r| puts format("%-8s %6d %4d %10.2f", r[:name], r[:hours], r[:overtime], r[:pay]) }
puts format("%-8s %22.2f", "TOTAL", report.sum { |r| r[:pay] })
report.max_by { |r| r[:pay] }[:name]
