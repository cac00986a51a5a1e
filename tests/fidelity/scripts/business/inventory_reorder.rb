Product = Struct.new(:sku, :name, :on_hand, :daily_use, :lead_days, :pack)
products = [
  Product.new("A-1", "Bolts", 1200, 85, 7, 500),
  Product.new("B-2", "Nuts", 300, 40, 5, 250),
  Product.new("C-3", "Washers", 90, 30, 10, 100),
  Product.new("D-4", "Rivets", 5000, 10, 14, 1000),
]
SAFETY = 1.2
reorders = products.filter_map do |p|
  reorder_point = (p.daily_use * p.lead_days * SAFETY).ceil
  next if p.on_hand > reorder_point
  needed = reorder_point * 2 - p.on_hand
  packs = (needed.to_f / p.pack).ceil
  [p.sku, p.name, reorder_point, packs * p.pack]
end
reorders.each { |sku, name, rp, qty| puts "#{sku} #{name.ljust(8)} reorder point #{rp.to_s.rjust(4)} order #{qty}" }
reorders.sum(&:last)
