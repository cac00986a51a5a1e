class Money
  attr_reader :cents, :currency

  def initialize(cents, currency = "USD")
    @cents = cents
    @currency = currency
  end

  def to_s
    format("%.2f %s", cents / 100.0, currency)
  end

  def inspect
    "#<Money #{self}>"
  end
end

m = Money.new(12_345)
puts m
puts "Total: #{m}"
p m
puts [m, Money.new(5, "EUR")].inspect
puts({ price: m }.inspect)
m
