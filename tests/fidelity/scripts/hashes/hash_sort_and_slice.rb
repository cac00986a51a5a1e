scores = { "zoe" => 88, "amy" => 95, "max" => 88, "li" => 70 }
ranked = scores.sort_by { |name, s| [-s, name] }
ranked.each.with_index(1) { |(name, s), i| puts "#{i}. #{name} #{s}" }
puts scores.slice("amy", "li").inspect
puts scores.except("zoe").inspect
puts scores.select { |_, s| s >= 88 }.keys.inspect
puts scores.max_by(2) { |_, s| s }.inspect
scores.sort.to_h
