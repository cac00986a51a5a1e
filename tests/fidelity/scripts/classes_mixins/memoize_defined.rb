class Report
  def initialize(rows)
    @rows = rows
    @computations = 0
  end

  def total
    return @total if defined?(@total)
    @computations += 1
    @total = @rows.sum
  end

  def maximum
    @maximum ||= begin
      @computations += 1
      @rows.max
    end
  end

  attr_reader :computations
end

r = Report.new([4, 8, 15, 16, 23, 42])
3.times { r.total; r.maximum }
puts r.total, r.maximum, r.computations
puts defined?(r.total), defined?(Report), defined?(@nothing).inspect, defined?(zzz).inspect
[defined?(String), defined?(puts), defined?(r)]
