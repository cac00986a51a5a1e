text = "The cat scattered the catalog; cat! Concatenate? CAT."
puts text.scan(/\bcat\b/i).size
puts text.gsub(/\bcat\b/i) { |w| w.upcase == w ? "DOG" : "dog" }
puts text.index(/cat/), text.rindex(/cat/i)
puts text.scan(/\b[A-Z]\w*/).inspect
puts text =~ /\d/ || "no digits"
text.split(/\W+/).max_by(&:length)
