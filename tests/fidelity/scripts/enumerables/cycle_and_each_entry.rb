colors = %w[red green blue]
rows = (1..7).zip(colors.cycle).map { |n, c| "#{n}:#{c}" }
puts rows.join(" ")
enum = colors.cycle
puts 5.times.map { enum.next }.inspect
puts colors.each_entry.to_a.inspect
combos = colors.combination(2).map { |a, b| "#{a}+#{b}" }
puts combos.inspect
puts colors.permutation(2).count
puts [1, 2].product([3, 4]).inspect
colors.rotate(1)
