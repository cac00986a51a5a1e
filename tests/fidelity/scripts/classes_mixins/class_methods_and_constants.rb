class Temperature
  ABSOLUTE_ZERO = -273.15
  @count = 0

  class << self
    attr_accessor :count

    def from_fahrenheit(f)
      new((f - 32) * 5.0 / 9)
    end
  end

  attr_reader :celsius

  def initialize(celsius)
    raise ArgumentError, "below absolute zero" if celsius < ABSOLUTE_ZERO
    @celsius = celsius
    self.class.count += 1
  end

  def fahrenheit
    celsius * 9.0 / 5 + 32
  end
end

t = Temperature.from_fahrenheit(212)
puts t.celsius, Temperature.new(37).fahrenheit.round(1)
puts Temperature.count
puts Temperature::ABSOLUTE_ZERO
begin
  Temperature.new(-300)
rescue ArgumentError => e
  puts "error: #{e.message}"
end
Temperature.count
