s = "one two three two one"
pos = 0
hits = []
while (m = s.match(/two/, pos))
  hits << m.begin(0)
  pos = m.end(0)
end
puts hits.inspect
puts s.enum_for(:scan, /o/).map { Regexp.last_match.begin(0) }.inspect
md = /(?<word>t\w+)/.match(s)
puts md[:word], md.pre_match.length
s.each_char.with_index.select { |c, _| c == "e" }.map(&:last)
