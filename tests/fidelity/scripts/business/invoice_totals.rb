LineItem = Struct.new(:description, :quantity, :unit_price) do
  def total = (quantity * unit_price).round(2)
end

items = [
  LineItem.new("Consulting hours", 12.5, 150.0),
  LineItem.new("Travel", 1, 342.18),
  LineItem.new("Software license", 3, 99.99),
]
subtotal = items.sum(&:total)
tax = (subtotal * 0.0825).round(2)
total = subtotal + tax
items.each { |i| puts format("%-20s %6.2f x %8.2f = %10.2f", i.description, i.quantity, i.unit_price, i.total) }
puts format("%-20s %32.2f", "Subtotal", subtotal)
puts format("%-20s %32.2f", "Tax (8.25%)", tax)
puts format("%-20s %32.2f", "Total", total)
total.round(2)
