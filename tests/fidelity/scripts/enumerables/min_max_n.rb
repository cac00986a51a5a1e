temps = [22.5, 19.0, 25.1, 30.2, 18.7, 27.3]
puts temps.min, temps.max
puts temps.minmax.inspect
puts temps.max(2).inspect
puts temps.min(3).inspect
cities = { "Oslo" => 12, "Cairo" => 35, "Lima" => 19, "Perth" => 28 }
puts cities.max_by { |_, t| t }.first
puts cities.min_by(2) { |_, t| t }.map(&:first).inspect
puts temps.sum.round(1)
temps.sort.each_slice(2).map(&:first)
