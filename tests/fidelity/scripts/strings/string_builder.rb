lines = []
buffer = +""
%w[alpha beta gamma].each_with_index do |name, i|
  buffer << "#{i + 1}. " << name << "\n"
  lines << name.upcase
end
buffer.concat("done\n")
print buffer
puts lines.join(", ")
frozen = "constant".freeze
puts frozen.frozen?
puts (frozen + "!").frozen?
buffer.lines.map(&:chomp)
