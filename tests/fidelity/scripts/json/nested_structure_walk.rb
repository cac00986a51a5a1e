require "json"
doc = JSON.parse('{"a": {"b": [1, {"c": 2}, [3, 4]], "d": "x"}, "e": [true, null]}')

def leaves(node, path = [], out = [])
  case node
  when Hash then node.each { |k, v| leaves(v, path + [k], out) }
  when Array then node.each_with_index { |v, i| leaves(v, path + [i], out) }
  else out << [path.join("."), node]
  end
  out
end

leaves(doc).each { |p, v| puts "#{p} = #{v.inspect}" }
leaves(doc).size
