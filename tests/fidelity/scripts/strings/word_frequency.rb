text = <<~TEXT
  the quick brown fox jumps over the lazy dog
  The dog barks; the fox runs.
TEXT

counts = text.downcase.scan(/[a-z]+/).tally
top = counts.sort_by { |word, n| [-n, word] }.first(4)
top.each { |word, n| puts "#{word.ljust(6)} #{'*' * n} (#{n})" }
top.to_h
