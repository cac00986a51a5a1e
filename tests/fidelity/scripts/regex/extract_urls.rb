html = <<~HTML
  <a href="https://example.com/a?x=1">A</a>
  <a href='http://test.org/path'>B</a>
  <img src="https://cdn.example.com/img.png">
HTML
links = html.scan(/href=["']([^"']+)["']/).flatten
puts links
hosts = html.scan(%r{https?://([\w.]+)}).flatten.uniq
puts hosts.inspect
puts html =~ %r{<img}
hosts.map { |h| h.split(".").last(2).join(".") }.tally
