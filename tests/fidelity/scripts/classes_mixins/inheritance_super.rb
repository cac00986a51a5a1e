class Animal
  attr_reader :name

  def initialize(name)
    @name = name
  end

  def speak
    "..."
  end

  def describe
    "#{self.class.name.downcase} #{name} says #{speak}"
  end
end

class Dog < Animal
  def initialize(name, breed)
    super(name)
    @breed = breed
  end

  def speak
    "Woof"
  end

  def describe
    super + " (#{@breed})"
  end
end

class Puppy < Dog
  def speak
    super.downcase + "!"
  end
end

animals = [Animal.new("generic"), Dog.new("Rex", "lab"), Puppy.new("Bit", "pug")]
animals.each { |a| puts a.describe }
puts Puppy.ancestors.take(3).inspect
puts Puppy.superclass, Puppy.instance_method(:speak).owner
animals.map { |a| a.is_a?(Dog) }
