class Sku
  attr_reader :code

  def initialize(code)
    @code = code.upcase
  end

  def ==(other)
    other.is_a?(Sku) && code == other.code
  end
  alias eql? ==

  def hash
    code.hash
  end

  def to_s = code
end

stock = { Sku.new("ab1") => 3 }
stock[Sku.new("AB1")] += 2
puts stock.size, stock[Sku.new("Ab1")]
puts [Sku.new("x"), Sku.new("X"), Sku.new("y")].uniq.map(&:to_s).inspect
puts Sku.new("q").equal?(Sku.new("q"))
stock.keys.map(&:to_s)
