class Invalid < StandardError
  def initialize(errors)
    @errors = errors
    super("#{errors.size} error(s): #{errors.join('; ')}")
  end
  attr_reader :errors
end

def validate!(record)
  errors = []
  errors << "name is required" if record[:name].to_s.strip.empty?
  errors << "age must be positive" unless record[:age].is_a?(Integer) && record[:age] > 0
  errors << "email is invalid" unless record[:email].to_s.include?("@")
  raise Invalid.new(errors) unless errors.empty?
  record
end

records = [{ name: "A", age: 3, email: "a@x" }, { name: " ", age: -1, email: "nope" }, { age: 5, email: "b@y" }]
records.each do |r|
  validate!(r)
  puts "valid: #{r[:name]}"
rescue Invalid => e
  puts e.message
end
Invalid.new(["x"]).errors
