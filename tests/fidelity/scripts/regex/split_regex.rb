puts "a, b;c  d".split(/[,;\s]+/).inspect
puts "one1two22three333four".split(/\d+/).inspect
puts "2024-06-01T12:30:00".split(/[-T:]/).map(&:to_i).inspect
puts "a,b,,c,,".split(",").inspect
puts "a,b,,c,,".split(",", -1).inspect
puts "CamelCaseString".split(/(?=[A-Z])/).inspect
puts "key: value: more".split(/:\s*/, 2).inspect
"  leading and trailing  ".split
