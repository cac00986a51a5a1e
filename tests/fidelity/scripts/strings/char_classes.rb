s = "Hello World 123!"
vowels = s.count("aeiouAEIOU")
digits = s.count("0-9")
puts "vowels=#{vowels} digits=#{digits}"
puts s.swapcase
puts s.tr("lo", "01")
puts s.delete("l")
puts s.squeeze
puts s.sub("World", "Ruby")
puts s.start_with?("Hell"), s.end_with?("!")
s.each_char.select { |c| c =~ /[[:upper:]]/ }
