def slugify(title)
  title.downcase.strip.gsub(/[^a-z0-9\s-]/, "").gsub(/\s+/, "-").squeeze("-")
end

titles = ["Hello, World!", "  Ruby 3.1 -- What's New?  ", "A  B   C"]
titles.each { |t| puts slugify(t) }
titles.map { |t| slugify(t) }
