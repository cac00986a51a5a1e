first = Time.utc(2024, 9, 1)
puts first.strftime("%B %Y").center(20)
puts "Su Mo Tu We Th Fr Sa"
days_in_month = 30
cells = Array.new(first.wday, "  ") + (1..days_in_month).map { |d| d.to_s.rjust(2) }
cells.each_slice(7) { |week| puts week.join(" ") }
cells.size
