DEFAULT_TAGS = %w[new sale].freeze
tags = DEFAULT_TAGS.dup
tags << "hot"
puts DEFAULT_TAGS.inspect, tags.inspect
puts DEFAULT_TAGS.frozen?, tags.frozen?
begin
  DEFAULT_TAGS << "oops"
rescue => e
  puts e.class
end
config = { name: "x", list: [1] }.freeze
copy = config.dup
copy[:name] = "y"
copy[:list] << 2
puts config.inspect, copy.inspect
cloned = config.clone
cloned.frozen?
