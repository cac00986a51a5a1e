words = %w[listen silent enlist google inlets banana tinsel elgoog]
groups = words.group_by { |w| w.chars.sort.join }.values.select { |g| g.size > 1 }
groups.each { |g| puts g.sort.join(" ") }
puts "abc".chars.permutation.map(&:join).inspect
puts "aab".chars.permutation.map(&:join).uniq.size
puts [1, 2, 3, 4].combination(2).count { |a, b| (a + b).even? }
groups.size
