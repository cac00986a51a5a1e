warehouse_a = { "apple" => 10, "pear" => 4, "plum" => 0 }
warehouse_b = { "apple" => 5, "kiwi" => 7 }
combined = warehouse_a.merge(warehouse_b) { |_item, a, b| a + b }
in_stock = combined.reject { |_, qty| qty.zero? }
puts in_stock.sort.map { |k, v| "#{k}=#{v}" }.join(" ")
puts combined.key?("plum"), combined.fetch("grape", 0)
in_stock
