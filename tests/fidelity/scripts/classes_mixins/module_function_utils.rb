module TextUtils
  module_function

  def word_count(s)
    s.split.size
  end

  def initials(s)
    s.split.map { |w| w[0] }.join.upcase
  end
end

module MathHelpers
  PI2 = Math::PI * 2

  def self.circle_area(r)
    (Math::PI * r**2).round(2)
  end
end

puts TextUtils.word_count("the quick brown fox")
puts TextUtils.initials("ruby on rails")
puts MathHelpers.circle_area(3)
puts MathHelpers::PI2.round(4)
TextUtils.respond_to?(:initials)
