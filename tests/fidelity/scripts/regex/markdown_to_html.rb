md = <<~MD
  # Title
  Some **bold** and *italic* text with `code`.
  ## Section
  A [link](https://example.com) here.
MD
html = md.each_line.map do |line|
  line = line.chomp
  line = line.gsub(/\*\*(.+?)\*\*/, '<b>\1</b>').gsub(/\*(.+?)\*/, '<i>\1</i>').gsub(/`(.+?)`/, '<code>\1</code>')
  line = line.gsub(/\[([^\]]+)\]\(([^)]+)\)/, '<a href="\2">\1</a>')
  if (m = line.match(/\A(#+) (.*)/))
    "<h#{m[1].size}>#{m[2]}</h#{m[1].size}>"
  else
    "<p>#{line}</p>"
  end
end
puts html
html.size
