class WrapperError < StandardError; end

def load_config
  Integer("not a number")
rescue ArgumentError => e
  raise WrapperError, "config invalid"
end

begin
  load_config
rescue WrapperError => e
  puts e.message
  puts e.cause.class
  puts e.cause.message
end

begin
  begin
    raise "inner"
  rescue => e
    raise
  end
rescue RuntimeError => e2
  puts "re-raised: #{e2.message} #{e2.class}"
end
e = RuntimeError.new("built")
puts e.message, e.backtrace.inspect
e.message
