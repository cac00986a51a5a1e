puts Regexp.escape("1.5*2+(3)?")
pattern = Regexp.new(Regexp.escape("a.b") + "\\d")
puts "xa.b7y" =~ pattern
puts "axb7" =~ pattern ? "match" : "no match"
puts /a+b/.source, /x/i.inspect, /y/m.to_s
re = /(\d+)-(\d+)/
puts re.match("10-20").values_at(1, 2).map(&:to_i).sum
puts "tab\there".gsub(/\t/, "\\t")
puts "path/to/file".gsub("/", "\\")
re.match?("nope")
