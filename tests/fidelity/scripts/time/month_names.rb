months = (1..12).map { |m| Time.utc(2024, m, 1).strftime("%b") }
puts months.join(" ")
quarters = (1..12).group_by { |m| (m - 1) / 3 + 1 }
quarters.each { |q, ms| puts "Q#{q}: #{ms.map { |m| Time.utc(2024, m, 1).strftime('%B') }.join(', ')}" }
Time.utc(2024, 12, 25).strftime("%A")
