def truncate(text, max, omission: "...")
  return text if text.length <= max
  cut = text[0, max - omission.length]
  cut = cut[0, cut.rindex(" ")] if cut.include?(" ")
  cut + omission
end

article = "Ruby is a dynamic, open source programming language with a focus on simplicity."
[20, 35, 100].each { |n| puts truncate(article, n) }
truncate("Short", 10, omission: "…")
