rows = [["Widget", 4, 3.5], ["Gadget Pro", 12, 129.99], ["Nut", 1000, 0.05]]
puts format("%-12s %6s %10s", "Item", "Qty", "Price")
rows.each { |name, qty, price| puts format("%-12s %6d %10.2f", name, qty, price) }
puts format("%-12s %6d %10.2f", "TOTAL", rows.sum { |r| r[1] }, rows.sum { |r| r[1] * r[2] })
puts format("|%5s|%-5s|%05.1f|%+d|% d|", "ab", "cd", 3.14159, 5, 7)
puts format("%3$s %1$s %2$s", "a", "b", "c")
format("%<name>s is %<age>d", name: "Ann", age: 30)
