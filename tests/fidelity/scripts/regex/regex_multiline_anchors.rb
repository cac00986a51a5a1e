text = "first line\nsecond line\nthird"
puts text.scan(/^\w+/).inspect
puts text =~ /\Asecond/ ? "starts" : "no"
puts text.match?(/^second/)
puts text[/line$/]
puts text.scan(/.+/).size
puts "a\nb" =~ /a.b/m
puts text[/s(\w+)/, 1]
text.lines.grep(/ir/).map(&:strip)
