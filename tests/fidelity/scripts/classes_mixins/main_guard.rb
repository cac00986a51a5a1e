class Greeter
  def initialize(name)
    @name = name
  end

  def call
    "Hello, #{@name}!"
  end
end

def main
  %w[world ruby].map { |n| Greeter.new(n).call }
end

if __FILE__ == $0
  puts main
end
$0 == __FILE__
