Employee = Struct.new(:name, :dept, :age)
staff = [
  Employee.new("Zed", "ops", 30),
  Employee.new("Amy", "eng", 41),
  Employee.new("Bob", "eng", 29),
  Employee.new("Cat", "ops", 30),
]
staff.sort_by { |e| [e.dept, -e.age, e.name] }.each { |e| puts "#{e.dept} #{e.age} #{e.name}" }
puts staff.sort { |a, b| b.age <=> a.age }.map(&:name).inspect
puts staff.min_by(&:age).name
puts staff.sum(&:age)
staff.map(&:name).sort.reverse
