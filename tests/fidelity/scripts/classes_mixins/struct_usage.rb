Point = Struct.new(:x, :y) do
  def distance_to(other)
    Math.sqrt((x - other.x)**2 + (y - other.y)**2)
  end

  def to_s
    "(#{x}, #{y})"
  end
end

a = Point.new(0, 0)
b = Point.new(3, 4)
puts a.distance_to(b)
puts b
puts b.inspect
puts b.to_a.inspect, b.to_h.inspect
puts a == Point.new(0, 0)
b.x = 10
puts b.x, b[1], b[:y]
x, y = *b
puts x + y
Point.members
