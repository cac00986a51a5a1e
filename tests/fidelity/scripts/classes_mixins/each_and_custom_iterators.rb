class Countdown
  include Enumerable

  def initialize(from)
    @from = from
  end

  def each
    return to_enum(:each) unless block_given?
    @from.downto(1) { |i| yield i }
  end
end

c = Countdown.new(5)
puts c.to_a.inspect
puts c.each.next
puts c.each_slice(2).to_a.inspect
puts c.reduce(:*)
puts c.lazy.map { |i| i * 2 }.first(2).inspect
puts c.sort.inspect, c.min, c.entries.size
c.each_cons(2).map { |a, b| a - b }
