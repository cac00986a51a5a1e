require "json"
class Point
  attr_reader :x, :y
  def initialize(x, y)
    @x, @y = x, y
  end

  def to_h
    { x: x, y: y }
  end

  def to_json(*args)
    to_h.to_json(*args)
  end
end

shape = { name: "triangle", points: [Point.new(0, 0), Point.new(3, 0), Point.new(0, 4)] }
puts shape.to_json
puts JSON.generate(shape)
puts JSON.pretty_generate(shape)
JSON.parse(shape.to_json)["points"].map { |p| p["x"] + p["y"] }
