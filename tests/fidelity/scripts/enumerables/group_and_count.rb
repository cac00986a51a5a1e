words = %w[apple Banana cherry avocado blueberry Cranberry date apricot]
by_letter = words.group_by { |w| w[0].downcase }
by_letter.sort.each { |l, ws| puts "#{l}: #{ws.sort_by(&:downcase).join(', ')}" }
puts words.map(&:length).tally.sort.inspect
puts words.count { |w| w.length > 6 }
puts words.each_with_object(Hash.new(0)) { |w, h| h[w.length] += 1 }.max_by { |len, c| [c, len] }.inspect
by_letter.transform_values(&:size).sort_by { |k, v| [-v, k] }.first
