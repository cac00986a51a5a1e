banned = /\b(spam|scam|free money)\b/i
messages = ["Get FREE MONEY now", "Meeting at 3", "This is not Spam!", "scampi for dinner"]
messages.each do |m|
  flagged = m =~ banned ? "FLAG(#{$~[1].downcase})" : "ok"
  puts "#{flagged.ljust(18)} #{m}"
end
puts messages.map { |m| m.gsub(banned) { |w| "*" * w.length } }.inspect
Regexp.union("a.b", /c+/).source
