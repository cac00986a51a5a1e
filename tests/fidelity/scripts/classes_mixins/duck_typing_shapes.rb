class Circle
  def initialize(r) = @r = r
  def area = (Math::PI * @r**2).round(2)
  def name = "circle"
end

class Rect
  def initialize(w, h)
    @w, @h = w, h
  end

  def area
    @w * @h
  end

  def name
    "rect"
  end
end

shapes = [Circle.new(1), Rect.new(2, 3), Circle.new(2.5)]
shapes.sort_by(&:area).each { |s| puts "#{s.name.ljust(7)} #{s.area}" }
puts shapes.sum(&:area).round(2)
shapes.group_by(&:name).transform_values { |v| v.map(&:area) }
