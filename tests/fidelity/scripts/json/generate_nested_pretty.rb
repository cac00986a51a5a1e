require "json"
tree = { "name" => "root", "children" => [
  { "name" => "a", "children" => [{ "name" => "a1", "children" => [] }] },
  { "name" => "b", "children" => [] },
] }
puts JSON.pretty_generate(tree)

def depth(node)
  1 + (node["children"].map { |c| depth(c) }.max || 0)
end
depth(tree)
