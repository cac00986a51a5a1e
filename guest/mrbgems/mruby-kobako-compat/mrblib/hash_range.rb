# Hash, Range, Comparable and Module behaviour of CRuby 3.1 that mruby 3.3 lacks.
class Hash
  alias __kobako_to_h to_h
  def to_h(&block)
    return __kobako_to_h unless block
    h = {}
    each do |k, v|
      pair = block.call(k, v)
      unless pair.is_a?(Array)
        raise TypeError, "wrong element type #{pair.class} (expected array)"
      end
      raise ArgumentError, "element has wrong array length (expected 2, was #{pair.size})" if pair.size != 2
      h[pair[0]] = pair[1]
    end
    h
  end

  alias __kobako_any? any?
  def any?(*pattern, &block)
    return __kobako_any?(&block) if pattern.empty?
    each { |k, v| return true if pattern[0] === [k, v] }
    false
  end

  def assoc(key)
    key?(key) ? [key, self[key]] : nil
  end

  def rassoc(value)
    each { |k, v| return [k, v] if v == value }
    nil
  end

  def to_hash
    self
  end
end

module Enumerable
  def to_h(&block)
    h = {}
    each do |*xs|
      x = xs.size > 1 ? xs : xs[0]
      pair = block ? block.call(x) : x
      raise TypeError, "wrong element type #{pair.class} (expected array)" unless pair.is_a?(Array)
      raise ArgumentError, "element has wrong array length (expected 2, was #{pair.size})" if pair.size != 2
      h[pair[0]] = pair[1]
    end
    h
  end
end

class Range
  # (1..10).step(3), (1.0..2.0).step(0.5) and the % alias, as CRuby.
  def step(n = 1, &block)
    return to_enum(:step, n) unless block
    b = self.begin
    e = self.end
    if !n.is_a?(Numeric) && !b.is_a?(String)
      raise TypeError, "no implicit conversion of #{n.class} into Integer"
    end
    raise ArgumentError, "step can't be negative" if n.is_a?(Numeric) && n < 0
    raise ArgumentError, "step can't be 0" if n == 0
    if b.is_a?(Float) || e.is_a?(Float) || n.is_a?(Float)
      Kobako::Compat.float_step(b.to_f, e.nil? ? Float::INFINITY : e.to_f, n.to_f, exclude_end?, &block)
    elsif b.is_a?(Numeric)
      i = b
      if e.nil?
        loop do
          block.call(i)
          i += n
        end
      elsif exclude_end?
        while i < e
          block.call(i)
          i += n
        end
      else
        while i <= e
          block.call(i)
          i += n
        end
      end
    else
      k = 0
      each do |x|
        block.call(x) if k % n == 0
        k += 1
      end
    end
    self
  end

  def %(n)
    step(n)
  end
end

module Kobako
  module Compat
    # Float steps as CRuby's ruby_float_step: the count is computed once and each
    # value is beg + i * unit, so errors do not accumulate.
    def self.float_step(beg, fin, unit, excl, &block)
      n = (fin - beg) / unit
      err = (beg.abs + fin.abs + (fin - beg).abs) / unit.abs * Float::EPSILON
      if unit == 0
        loop { block.call(beg) }
      end
      if err > 0.5
        err = 0.5
      end
      if excl
        return if n <= 0
        n = n < 1 ? 0 : (n - err).floor
        d = +((n + 1) * unit) + beg
        n += 1 if beg < fin ? d < fin : d > fin
      else
        return if n < 0
        n = (n + err).floor
      end
      i = 0
      while i <= n
        d = i * unit + beg
        d = fin if unit >= 0 ? fin < d : d < fin
        block.call(d)
        i += 1
      end
    end
  end
end

module Comparable
  alias __kobako_clamp clamp
  def clamp(min, max = nil)
    if max.nil? && min.is_a?(Range)
      r = min
      raise ArgumentError, "cannot clamp with an exclusive range" if r.exclude_end? && !r.end.nil?
      lo = r.begin
      hi = r.end
      if !lo.nil? && !hi.nil? && (lo <=> hi) > 0
        raise ArgumentError, "min argument must be smaller than max argument"
      end
      return lo if !lo.nil? && (self <=> lo) < 0
      return hi if !hi.nil? && (self <=> hi) > 0
      return self
    end
    if (min <=> max) > 0
      raise ArgumentError, "min argument must be smaller than max argument"
    end
    return min if (self <=> min) < 0
    return max if (self <=> max) > 0
    self
  end
end

class Module
  alias __kobako_module_function module_function
  private :__kobako_module_function

  # With no arguments, the methods defined after it become module functions.
  def module_function(*names)
    return __kobako_module_function(*names) unless names.empty?
    mod = self
    singleton_class.__send__(:define_method, :method_added) do |name|
      mod.__send__(:__kobako_module_function, name)
    end
    nil
  end
end

module Enumerable
  def to_set(klass = Set, &block)
    klass.new(self, &block)
  end
end

class Set
  def to_set(*args, &block)
    return self if args.empty? && block.nil? && instance_of?(Set)
    super
  end
end

class Range
  # Binary search over an Integer range: find-minimum (true/false/nil) and
  # find-any (numeric: 0 found, positive searches right, negative left) modes.
  def bsearch
    return to_enum(:bsearch) unless block_given?
    lo = self.begin
    hi = self.end
    bad = [lo, hi].find { |v| !v.is_a?(Integer) && !v.is_a?(Float) }
    raise TypeError, "can't do binary search for #{bad.class}" if bad
    # Floats are searched by their bit patterns, ordered as integers, as CRuby does
    float = lo.is_a?(Float) || hi.is_a?(Float)
    if float
      lo = Kobako::Compat.float_ord(lo.to_f)
      hi = Kobako::Compat.float_ord(hi.to_f)
    end
    hi -= 1 if exclude_end?
    found = nil
    while lo <= hi
      mid = lo + (hi - lo).div(2)
      x = float ? Kobako::Compat.ord_float(mid) : mid
      r = yield(x)
      case r
      when true then found = x; hi = mid - 1
      when false, nil then lo = mid + 1
      when Numeric
        return x if r == 0
        r > 0 ? lo = mid + 1 : hi = mid - 1
      else
        raise TypeError, "wrong argument type #{r.class} (must be numeric, true, false or nil)"
      end
    end
    found
  end
end

module Kobako
  module Compat
    MASK63 = 0x7fff_ffff_ffff_ffff

    # a Float's position in the total order of Floats, as an Integer
    def self.float_ord(x)
      i = [x].pack("G").unpack1("q>")
      i < 0 ? -(i & MASK63) : i
    end

    def self.ord_float(i)
      [i >= 0 ? i : (-i) | (-MASK63 - 1)].pack("q>").unpack1("G")
    end
  end
end
