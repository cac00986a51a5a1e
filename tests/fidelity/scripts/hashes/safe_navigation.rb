User = Struct.new(:name, :address)
Address = Struct.new(:city, :zip)
users = [User.new("ann", Address.new("Oslo", "0150")), User.new("bob", nil), nil]
users.each do |u|
  city = u&.address&.city || "unknown"
  puts "#{u&.name.inspect} lives in #{city}"
end
lookup = { "ann" => { prefs: { theme: "dark" } } }
puts lookup["ann"]&.dig(:prefs, :theme)
puts lookup["zed"]&.dig(:prefs, :theme).inspect
puts users.map { |u| u&.address&.zip&.to_i }.inspect
users.compact.map(&:name)
