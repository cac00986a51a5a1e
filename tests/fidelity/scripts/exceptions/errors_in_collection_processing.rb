rows = ["10", "20", "abc", "", "40", "5.5"]
good = []
bad = []
rows.each_with_index do |r, i|
  good << Integer(r)
rescue ArgumentError => e
  bad << [i, r, e.class.name]
end
puts good.inspect
bad.each { |i, r, c| puts "row #{i} #{r.inspect}: #{c}" }
totals = rows.map { |r| Float(r, exception: false) }
puts totals.inspect
totals.compact.sum
