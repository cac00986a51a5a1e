def leap?(y)
  (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
end

years = [1900, 2000, 2023, 2024, 2100]
years.each { |y| puts "#{y}: #{leap?(y) ? 'leap' : 'common'}" }
feb = years.map { |y| (Time.utc(y, 3, 1) - 86_400).day }
puts feb.inspect
years.count { |y| leap?(y) }
