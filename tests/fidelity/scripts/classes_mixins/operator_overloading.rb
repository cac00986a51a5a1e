class Vec
  attr_reader :x, :y

  def initialize(x, y)
    @x, @y = x, y
  end

  def +(o) = Vec.new(x + o.x, y + o.y)
  def -(o) = Vec.new(x - o.x, y - o.y)
  def *(k) = Vec.new(x * k, y * k)
  def -@ = Vec.new(-x, -y)
  def ==(o) = o.is_a?(Vec) && x == o.x && y == o.y
  def [](i) = i.zero? ? x : y
  def to_s = "Vec(#{x}, #{y})"
  def coerce(n) = [Vec.new(n, n), self]
end

a = Vec.new(1, 2)
b = Vec.new(3, 5)
puts a + b, b - a, a * 3, -a
puts a == Vec.new(1, 2), a != b
puts b[0], b[1]
puts [a, b].sum(Vec.new(0, 0))
(a * 2.5).to_s
