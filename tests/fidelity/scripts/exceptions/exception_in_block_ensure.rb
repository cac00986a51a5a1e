class Resource
  attr_reader :log

  def initialize
    @log = []
  end

  def open
    @log << "open"
    yield self
  ensure
    @log << "close"
  end

  def write(x)
    raise ArgumentError, "bad data: #{x}" if x.negative?
    @log << "write #{x}"
  end
end

r = Resource.new
r.open { |f| [1, 2].each { |x| f.write(x) } }
begin
  r.open { |f| [3, -1, 5].each { |x| f.write(x) } }
rescue ArgumentError => e
  r.log << "error: #{e.message}"
end
puts r.log
r.log.count("close")
