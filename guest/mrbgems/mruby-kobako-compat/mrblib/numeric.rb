# Integer and Float methods CRuby has and mruby 3.3 lacks or rounds differently.
class Integer
  def even?
    self & 1 == 0
  end

  def odd?
    self & 1 == 1
  end

  def integer?
    true
  end

  def pred
    self - 1
  end

  def ord
    self
  end

  def numerator
    self
  end

  def denominator
    1
  end

  def [](i)
    (self >> i) & 1
  end

  def gcd(other)
    raise TypeError, "not an integer" unless other.is_a?(Integer)
    a = abs
    b = other.abs
    a, b = b, a % b while b != 0
    a
  end

  def lcm(other)
    raise TypeError, "not an integer" unless other.is_a?(Integer)
    return 0 if self == 0 || other == 0
    (self / gcd(other) * other).abs
  end

  def gcdlcm(other)
    [gcd(other), lcm(other)]
  end

  def bit_length
    n = self < 0 ? ~self : self
    n == 0 ? 0 : n.to_s(2).size
  end

  def fdiv(other)
    to_f / other
  end

  def self.sqrt(n)
    n = Integer(n)
    raise Math::DomainError, 'Numerical argument is out of domain - "isqrt"' if n < 0
    if n < 4503599627370496
      x = Math.sqrt(n).to_i
    else
      x = 1 << ((n.bit_length + 1) / 2)
      loop do
        y = (x + n / x) / 2
        break if y >= x
        x = y
      end
    end
    x -= 1 while x * x > n
    x += 1 while (x + 1) * (x + 1) <= n
    x
  end

  alias __kobako_pow **
  def **(other)
    if other.is_a?(Integer) && other < 0
      raise ZeroDivisionError, "divided by 0" if self == 0
      Rational(1, __kobako_pow(-other))
    else
      __kobako_pow(other)
    end
  end

  alias __kobako_round round
  # Negative digits round to tens, hundreds...; half: :up (away from 0), :even, :down.
  def round(ndigits = 0, half: :up)
    return self if ndigits >= 0
    Kobako::Compat.check_half(half)
    m = 10.__kobako_pow(-ndigits)
    r = self % m
    base = self - r
    if r * 2 > m then base + m
    elsif r * 2 < m then base
    else
      case half
      when :even then (base / m).even? ? base : base + m
      when :down then self < 0 ? base + m : base
      else self < 0 ? base : base + m
      end
    end
  end

  def floor(ndigits = 0)
    return self if ndigits >= 0
    m = 10.__kobako_pow(-ndigits)
    self - self % m
  end

  def ceil(ndigits = 0)
    return self if ndigits >= 0
    m = 10.__kobako_pow(-ndigits)
    r = self % m
    r == 0 ? self : self - r + m
  end

  def truncate(ndigits = 0)
    return self if ndigits >= 0
    self < 0 ? -(-self).floor(ndigits) : floor(ndigits)
  end
end

class Float
  def integer?
    false
  end

  alias __kobako_round round
  def round(ndigits = 0, half: :up)
    Kobako::Compat.check_half(half)
    if ndigits > 0 && ndigits <= 14 && (half == :up || half.nil?) && finite?
      # CRuby's round_half_up: round(x * s), then correct by checking the
      # neighbour, so 1.005.round(2) is 1.01 as in CRuby
      _, binexp = Math.frexp(self)
      # C's truncating division, as in CRuby's float_round_overflow/underflow
      return self if ndigits >= 17 - (binexp > 0 ? binexp / 4 : (binexp / 3.0).truncate - 1)
      return 0.0 if ndigits < -(binexp > 0 ? binexp / 3 + 1 : (binexp / 4.0).truncate)
      s = 10.0**ndigits
      f = (self * s).__kobako_round.to_f
      f = -0.0 if f == 0 && self < 0
      if self > 0
        f += 1 if (f + 0.5) / s <= self
      elsif self < 0
        f -= 1 if (f - 0.5) / s >= self
      end
      return f / s
    end
    return __kobako_round(ndigits) if half == :up || half.nil? || !finite?
    s = 10.0**ndigits
    y = ndigits > 0 ? self * s : self / 10.0**-ndigits
    f = y.floor
    r = if y - f == 0.5
      if half == :even then f.even? ? f : f + 1
      else y < 0 ? f + 1 : f
      end
    else
      y.__kobako_round
    end
    if ndigits > 0
      r / s
    elsif ndigits == 0
      r
    else
      (r * 10**-ndigits).to_i
    end
  end

  def fdiv(other)
    self / other
  end
end

module Kobako
  module Compat
    def self.check_half(half)
      return if half.nil? || half == :up || half == :even || half == :down
      raise ArgumentError, "invalid rounding mode: #{half}"
    end
  end
end

module Kernel
  alias __kobako_rational Rational
  private :__kobako_rational

  # Rational("2/4"), Rational("0.75") and Rational("1.5", 2) besides numbers.
  def Rational(a, b = 1)
    a = Kobako::Compat.parse_rational(a) if a.is_a?(String)
    b = Kobako::Compat.parse_rational(b) if b.is_a?(String)
    if a.is_a?(Rational) || b.is_a?(Rational)
      return a / b if b != 1
      return a
    end
    __kobako_rational(a, b)
  end
  private :Rational
end

module Kobako
  module Compat
    def self.parse_rational(str)
      s = str.strip
      num, den = s.split("/", 2)
      bad = num.nil? || num.empty? || (den && den.empty?)
      unless bad
        neg = num.start_with?("-")
        body = num.start_with?("-", "+") ? num[1..] : num
        ip, fp = body.split(".", 2)
        bad = ip.nil? || ip.empty? && fp.nil? || !Kobako::Compat.digits?(ip.delete("_"), true) ||
              (fp && !Kobako::Compat.digits?(fp.delete("_"), false)) ||
              (den && !Kobako::Compat.digits?(den.delete("_"), false))
      end
      raise ArgumentError, "invalid value for convert(): #{str.inspect}" if bad
      fp ||= ""
      r = __kobako_rational_of(ip.delete("_").to_i * 10**fp.size + fp.delete("_").to_i, 10**fp.size)
      r = -r if neg
      den ? r / den.delete("_").to_i : r
    end

    def self.__kobako_rational_of(a, b)
      Kernel.instance_method(:__kobako_rational).bind(self).call(a, b)
    end

    def self.digits?(s, allow_empty)
      return allow_empty if s.empty?
      s.each_byte { |c| return false if c < 48 || c > 57 }
      true
    end
  end
end
