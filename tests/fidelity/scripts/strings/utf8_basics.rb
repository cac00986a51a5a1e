words = ["café", "naïve", "日本語", "résumé"]
words.each do |w|
  puts "#{w}: length=#{w.length} bytes=#{w.bytesize} reversed=#{w.reverse} upcase=#{w.upcase}"
end
puts "日本語"[1]
puts "café".chars.inspect
puts "über".center(10, "*")
words.map(&:size)
