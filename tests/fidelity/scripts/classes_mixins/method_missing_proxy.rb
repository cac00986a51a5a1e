class Settings
  def initialize(hash)
    @data = hash
  end

  def method_missing(name, *args)
    key = name.to_s
    if key.end_with?("=")
      @data[key.chomp("=").to_sym] = args.first
    elsif key.end_with?("?")
      !!@data[key.chomp("?").to_sym]
    elsif @data.key?(name)
      @data[name]
    else
      super
    end
  end

  def respond_to_missing?(name, include_private = false)
    @data.key?(name.to_s.delete("=?").to_sym) || super
  end
end

s = Settings.new(theme: "dark", beta: false)
puts s.theme, s.beta?
s.font = "mono"
puts s.font
puts s.respond_to?(:theme), s.respond_to?(:nothing)
begin
  s.unknown
rescue NoMethodError => e
  puts "NoMethodError: #{e.name}"
end
s.theme?
