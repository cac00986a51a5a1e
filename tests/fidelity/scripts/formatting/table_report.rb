data = [["Alpha", 0.1234, 12], ["Beta", 0.5, 3], ["Gamma", 0.98765, 145]]
header = format("%-8s|%8s|%6s", "name", "ratio", "n")
puts header
puts "-" * header.length
data.each { |name, ratio, n| puts format("%-8s|%7.2f%%|%6d", name, ratio * 100, n) }
puts "-" * header.length
avg = data.sum { |_, r, _| r } / data.size
puts format("%-8s|%7.2f%%|%6d", "avg", avg * 100, data.sum { |*, n| n })
avg.round(5)
