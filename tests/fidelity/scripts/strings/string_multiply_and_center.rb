width = 30
border = "=" * width
puts border
["Monthly Report", "June 2024", "Confidential"].each { |t| puts t.center(width) }
puts border
puts "-" * 5 + ">" + "x".rjust(4, ".") + "<" + "y".ljust(4, ".")
border.length
