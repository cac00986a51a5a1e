module Greeter
  def greet
    "Hello from #{name}"
  end
end

module Loud
  def greet
    super.upcase + "!"
  end
end

module Countable
  def self.included(base)
    base.extend(ClassMethods)
  end

  module ClassMethods
    def instances
      @instances ||= 0
    end

    def track!
      @instances = instances + 1
    end
  end
end

class Person
  include Greeter
  include Loud
  include Countable
  attr_reader :name

  def initialize(name)
    @name = name
    self.class.track!
  end
end

puts Person.new("Ann").greet
Person.new("Bob")
puts Person.instances
puts Person.include?(Greeter), Person.ancestors.index(Loud) < Person.ancestors.index(Greeter)
Person.ancestors.first(4)
