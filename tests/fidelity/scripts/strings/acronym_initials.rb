names = ["portable network graphics", "Ruby on Rails", "as soon as possible"]
acronyms = names.map { |n| n.split.map { |w| w[0].upcase }.join }
puts acronyms.inspect
initials = ["Grace Brewster Hopper", "alan turing"].map do |full|
  parts = full.split
  "#{parts.first.capitalize} #{parts[1..].map { |p| p[0].upcase + '.' }.join(' ')}"
end
puts initials
acronyms.zip(names).to_h
