class Cart
  Item = Struct.new(:name, :price, :qty)
  TAX_RATE = 0.07

  def initialize
    @items = {}
  end

  def add(name, price, qty = 1)
    if @items[name]
      @items[name].qty += qty
    else
      @items[name] = Item.new(name, price, qty)
    end
    self
  end

  def remove(name)
    @items.delete(name)
    self
  end

  def subtotal = @items.values.sum { |i| i.price * i.qty }.round(2)
  def tax = (subtotal * TAX_RATE).round(2)
  def total = (subtotal + tax).round(2)

  def receipt
    lines = @items.values.map { |i| format("%-10s %2d @ %6.2f", i.name, i.qty, i.price) }
    lines + ["Subtotal: %.2f" % subtotal, "Tax: %.2f" % tax, "Total: %.2f" % total]
  end
end

cart = Cart.new.add("Coffee", 4.5, 2).add("Bagel", 2.25).add("Coffee", 4.5).add("Juice", 3.99).remove("Juice")
puts cart.receipt
cart.total
