Order = Struct.new(:customer_tier, :items, :coupon, keyword_init: true)

def discount_for(order)
  subtotal = order.items.sum { |i| i[:price] * i[:qty] }
  pct = { gold: 0.15, silver: 0.10 }.fetch(order.customer_tier, 0.0)
  pct += 0.05 if order.coupon == "EXTRA5"
  bulk = order.items.sum { |i| i[:qty] } >= 10 ? 20.0 : 0.0
  discount = (subtotal * pct + bulk).round(2)
  [subtotal.round(2), discount, (subtotal - discount).round(2)]
end

orders = [
  Order.new(customer_tier: :gold, items: [{ price: 19.99, qty: 2 }, { price: 5.0, qty: 10 }], coupon: nil),
  Order.new(customer_tier: :bronze, items: [{ price: 100.0, qty: 1 }], coupon: "EXTRA5"),
  Order.new(customer_tier: :silver, items: [], coupon: "EXTRA5"),
]
orders.each { |o| puts discount_for(o).inspect }
orders.map { |o| discount_for(o).last }.sum
