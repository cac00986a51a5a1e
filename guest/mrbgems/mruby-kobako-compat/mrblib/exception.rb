# Exception#inspect and messages in CRuby 3.1's format.
class Exception
  def inspect
    s = to_s
    s.empty? ? self.class.to_s : "#<#{self.class}: #{s}>"
  end

  def full_message(highlight: false, order: :top)
    "#{(backtrace || []).first || '-e'}: #{message} (#{self.class})"
  end
end


# KeyError#key and #receiver: set by Hash#fetch and KeyError.new(msg, receiver:, key:).
class KeyError
  def initialize(msg = nil, **opts)
    super(*(msg.nil? ? [] : [msg]))
    @receiver = opts[:receiver] if opts.key?(:receiver)
    @key = opts[:key] if opts.key?(:key)
  end

  def key
    raise ArgumentError, "no key is available" unless instance_variable_defined?(:@key)
    @key
  end

  def receiver
    raise ArgumentError, "no receiver is available" unless instance_variable_defined?(:@receiver)
    @receiver
  end
end

class Hash
  def fetch(key, *rest, &block)
    if rest.size > 1
      raise ArgumentError, "wrong number of arguments (given #{rest.size + 1}, expected 1..2)"
    end
    return self[key] if key?(key)
    return block.call(key) if block
    return rest[0] unless rest.empty?
    raise KeyError.new("key not found: #{key.inspect}", receiver: self, key: key)
  end
end
