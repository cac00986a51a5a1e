class Version
  include Comparable
  attr_reader :parts

  def initialize(str)
    @parts = str.split(".").map(&:to_i)
  end

  def <=>(other)
    parts <=> other.parts
  end

  def to_s
    parts.join(".")
  end
end

versions = %w[1.10.0 1.2.9 1.2.10 0.9 2.0].map { |s| Version.new(s) }
puts versions.sort.map(&:to_s).inspect
puts versions.max.to_s
puts Version.new("1.2") < Version.new("1.10"), Version.new("3.0").between?(Version.new("2.0"), Version.new("3.1"))
puts Version.new("1.5").clamp(Version.new("1.0"), Version.new("1.4")).to_s
Version.new("1.0") == Version.new("1.0")
