people = [
  { name: "Ann", dept: "eng", salary: 120 },
  { name: "Bob", dept: "ops", salary: 90 },
  { name: "Cid", dept: "eng", salary: 110 },
  { name: "Dee", dept: "sales", salary: 95 },
  { name: "Eve", dept: "ops", salary: 99 },
]
by_dept = people.group_by { |p| p[:dept] }
by_dept.each do |dept, staff|
  names = staff.map { |p| p[:name] }.join(", ")
  puts "#{dept}: #{names} (avg #{staff.sum { |p| p[:salary] } / staff.size})"
end
by_dept.transform_values(&:count)
