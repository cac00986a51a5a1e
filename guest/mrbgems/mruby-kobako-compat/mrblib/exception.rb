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

class Hash
  def fetch(key, *rest, &block)
    if rest.size > 1
      raise ArgumentError, "wrong number of arguments (given #{rest.size + 1}, expected 1..2)"
    end
    return self[key] if key?(key)
    return block.call(key) if block
    return rest[0] unless rest.empty?
    raise KeyError, "key not found: #{key.inspect}"
  end
end
