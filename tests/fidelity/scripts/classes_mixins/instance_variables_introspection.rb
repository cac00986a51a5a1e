class Box
  def initialize(w, h)
    @w = w
    @h = h
  end
end

b = Box.new(2, 3)
puts b.instance_variables.inspect
puts b.instance_variable_get(:@w)
b.instance_variable_set(:@d, 4)
puts b.instance_variables.size
puts Box.name, b.class, b.class.class
puts b.is_a?(Object), Box.instance_methods(false).inspect
puts b.respond_to?(:w), Box.method_defined?(:initialize)
puts 5.send(:+, 3), [3, 1, 2].public_send(:sort).inspect
m = 10.method(:+)
puts m.call(5), m.arity
[b.instance_variable_defined?(:@h), Box.ancestors.include?(Kernel)]
