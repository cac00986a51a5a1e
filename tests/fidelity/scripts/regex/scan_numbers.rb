text = "Order 66 shipped 3 boxes at $12.50 each, total $37.50 on 2024-01-05."
puts text.scan(/\d+/).inspect
puts text.scan(/\$(\d+\.\d+)/).flatten.map(&:to_f).sum
puts text.scan(/(\d{4})-(\d{2})-(\d{2})/).inspect
words = text.scan(/[A-Za-z]+/)
puts words.size
text.scan(/\b\w{5,}\b/)
