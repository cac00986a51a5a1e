keys = %i[first_name last_name email]
labels = keys.map { |k| k.to_s.split("_").map(&:capitalize).join(" ") }
puts labels.inspect
puts :abc <=> :abd
puts "abc".to_sym.inspect
puts %w[b a c].map(&:to_sym).sort.inspect
puts "status: #{:active}"
{ keys: keys, strings: keys.map(&:to_s), lengths: keys.map(&:length) }
