def palindrome?(s)
  clean = s.downcase.delete("^a-z0-9")
  clean == clean.reverse
end

phrases = ["A man, a plan, a canal: Panama", "race a car", "Was it a car or a cat I saw?", ""]
phrases.each { |p| puts "#{p.inspect} -> #{palindrome?(p)}" }
phrases.select { |p| palindrome?(p) }.size
