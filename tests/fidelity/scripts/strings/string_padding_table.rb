rows = [["Name", "Qty", "Price"], ["Apple", "3", "1.20"], ["Watermelon", "1", "4.50"], ["Fig", "12", "0.35"]]
widths = rows.transpose.map { |col| col.map(&:length).max }
rows.each_with_index do |row, i|
  line = row.each_with_index.map { |cell, j| j.zero? ? cell.ljust(widths[j]) : cell.rjust(widths[j]) }
  puts line.join(" | ")
  puts widths.map { |w| "-" * w }.join("-+-") if i.zero?
end
widths
