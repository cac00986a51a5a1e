# require, load and friends: the guest has no files, so only the libraries built
# into it can be required (a no-op, true the first time, false after, as CRuby).
module Kobako
  module Compat
    # false: not yet required; true: required (or preloaded, as CRuby preloads them)
    FEATURES = {
      "json" => false, "set" => false, "time" => false, "pp" => false,
      "prettyprint" => false, "securerandom" => false, "ostruct" => false,
      "enumerator" => true, "rational" => true, "complex" => true, "thread" => true,
      "fiber" => false,
    }
  end
end

class LoadError < ScriptError
  attr_reader :path
end

module Kernel
  def require(name)
    unless name.is_a?(String)
      raise TypeError, "no implicit conversion of #{name.nil? ? 'nil' : name.class} into String"
    end
    feature = name.end_with?(".rb") ? name[0, name.size - 3] : name
    loaded = Kobako::Compat::FEATURES[feature]
    raise LoadError, "cannot load such file -- #{name}" if loaded.nil?
    return false if loaded
    Kobako::Compat::FEATURES[feature] = true
  end

  def require_relative(name)
    raise LoadError, "cannot load such file -- #{name}"
  end

  def load(name, wrap = false)
    raise LoadError, "cannot load such file -- #{name}"
  end
  private :require, :require_relative, :load

  def public_send(name, *args, **kw, &block)
    unless respond_to?(name)
      if respond_to?(name, true)
        raise NoMethodError, "private method `#{name}' called for #{Kobako::Compat.describe(self)}"
      end
    end
    if kw.empty?
      __send__(name, *args, &block)
    else
      __send__(name, *args, **kw, &block)
    end
  end

  def public_method(name)
    unless respond_to?(name)
      raise NameError, "undefined method `#{name}' for class `#{self.class}'" unless respond_to?(name, true)
      raise NameError, "method `#{name}' for #{Kobako::Compat.describe(self)} is private"
    end
    method(name)
  end
end

module Kobako
  module Compat
    # The receiver as CRuby 3.1 names it in NoMethodError messages.
    def self.describe(obj)
      d = obj.inspect
      d = "#<#{obj.class}>" if d.size > 65
      d.start_with?("#") ? d : "#{d}:#{obj.class}"
    end
  end
end

# Float() and Integer() with exception: false, which return nil instead of raising.
module Kernel
  alias __kobako_Float Float
  alias __kobako_Integer Integer

  def Float(value, exception: true)
    return __kobako_Float(value) if exception
    begin
      __kobako_Float(value)
    rescue ArgumentError, TypeError
      nil
    end
  end

  def Integer(value, *base, exception: true)
    return __kobako_Integer(value, *base) if exception
    begin
      __kobako_Integer(value, *base)
    rescue ArgumentError, TypeError
      nil
    end
  end
  private :Float, :Integer
end
