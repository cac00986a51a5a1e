require "json"
defaults = { "port" => 8080, "host" => "localhost", "features" => { "beta" => false, "log" => "info" } }
user_json = '{"port": 9000, "features": {"beta": true}}'

def deep_merge(a, b)
  a.merge(b) { |_, x, y| x.is_a?(Hash) && y.is_a?(Hash) ? deep_merge(x, y) : y }
end

config = deep_merge(defaults, JSON.parse(user_json))
puts JSON.pretty_generate(config)
puts "listening on #{config['host']}:#{config['port']}"
config.dig("features", "log")
