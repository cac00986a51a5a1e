settings = { "mode" => "fast", "level" => 3 }
puts settings.fetch("mode")
puts settings.fetch("color", "none")
puts settings.fetch("color") { |k| "no #{k}" }
begin
  settings.fetch("missing")
rescue KeyError => e
  puts "KeyError: #{e.message}"
end
begin
  { a: 1 }.fetch(:b)
rescue KeyError => e
  puts e.message
  puts e.key.inspect, e.receiver.inspect
end
settings.fetch_values("mode", "level")
