template = "Hello {name}, your order {id} ships {day}."
values = { "name" => "Rita", "id" => "#A12", "day" => "Monday" }
puts template.gsub(/\{(\w+)\}/) { values.fetch($1, "?") }
puts "cat hat bat".gsub(/[chb]at/, "cat" => "dog", "hat" => "cap")
puts "2024-06-01".gsub(/(\d+)-(\d+)-(\d+)/, '\3/\2/\1')
puts "snake_case_words".gsub(/_(\w)/) { $1.upcase }
puts "a1b22c333".gsub(/\d+/) { |d| "<#{d.length}>" }
"x-y-z".sub("-", "+")
