deps = {
  "app" => %w[db cache logger],
  "db" => %w[config logger],
  "cache" => %w[config],
  "logger" => %w[config],
  "config" => [],
}

def topo(graph)
  order = []
  state = {}
  visit = lambda do |node|
    raise "cycle at #{node}" if state[node] == :visiting
    return if state[node] == :done
    state[node] = :visiting
    graph.fetch(node, []).each { |d| visit.(d) }
    state[node] = :done
    order << node
  end
  graph.keys.sort.each { |n| visit.(n) }
  order
end

puts topo(deps).join(" -> ")
begin
  topo({ "a" => ["b"], "b" => ["a"] })
rescue RuntimeError => e
  puts e.message
end
topo(deps).index("app")
