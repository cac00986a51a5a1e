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

# CRuby's TypeError for arithmetic with a non-numeric operand ("String can't be
# coerced into Integer"); mruby says "String cannot be converted to Float". The VM's
# fast paths (Integer/Float with Integer/Float) never reach these wrappers.
module Kobako
  module Compat
    def self.check_coercible(other, klass)
      return if other.is_a?(Numeric) || other.respond_to?(:coerce)
      name = other.nil? || other == true || other == false ? other.inspect : other.class.to_s
      raise TypeError, "#{name} can't be coerced into #{klass}"
    end
  end
end

class Integer
  alias __kobako_add +
  alias __kobako_sub -
  alias __kobako_mul *
  alias __kobako_div /

  def +(other)
    Kobako::Compat.check_coercible(other, Integer)
    __kobako_add(other)
  end

  def -(other)
    Kobako::Compat.check_coercible(other, Integer)
    __kobako_sub(other)
  end

  def *(other)
    Kobako::Compat.check_coercible(other, Integer)
    __kobako_mul(other)
  end

  def /(other)
    Kobako::Compat.check_coercible(other, Integer)
    __kobako_div(other)
  end
end

class Float
  alias __kobako_add +
  alias __kobako_sub -
  alias __kobako_mul *
  alias __kobako_div /

  def +(other)
    Kobako::Compat.check_coercible(other, Float)
    __kobako_add(other)
  end

  def -(other)
    Kobako::Compat.check_coercible(other, Float)
    __kobako_sub(other)
  end

  def *(other)
    Kobako::Compat.check_coercible(other, Float)
    __kobako_mul(other)
  end

  def /(other)
    Kobako::Compat.check_coercible(other, Float)
    __kobako_div(other)
  end
end

# Rational#floor/ceil/round/truncate with CRuby's optional digits: a Rational for
# digits > 0, an Integer otherwise.
class Rational
  def floor(digits = 0) = __kobako_round_to(digits) { |n, d| n.div(d) }
  def ceil(digits = 0) = __kobako_round_to(digits) { |n, d| -(-n).div(d) }
  def truncate(digits = 0) = __kobako_round_to(digits) { |n, d| n < 0 ? -(-n).div(d) : n.div(d) }

  # half away from zero, as CRuby's default round
  def round(digits = 0, half: :up)
    __kobako_round_to(digits) do |n, d|
      q = (n.abs * 2 + d).div(d * 2)
      q -= 1 if half == :down && (n.abs * 2 + d) % (d * 2) == 0
      if half == :even && (n.abs * 2 + d) % (d * 2) == 0 && q.odd?
        q -= 1
      end
      n < 0 ? -q : q
    end
  end

  private

  def __kobako_round_to(digits)
    raise TypeError, "not an integer" unless digits.is_a?(Integer)
    return yield(numerator, denominator) if digits == 0
    scale = 10**digits.abs
    return Rational(yield(numerator * scale, denominator), scale) if digits > 0
    yield(numerator, denominator * scale) * scale
  end
end

class Float
  # The simplest rational within eps of self, or within the float's own precision.
  def rationalize(eps = nil)
    return -(-self).rationalize(eps) if self < 0
    if eps.nil?
      m, e = Math.frexp(self)
      f = (m * (2**53)).to_i
      n = e - 53
      return Rational(f * 2**n, 1) if n >= 0
      a = Rational(2 * f - 1, 2**(1 - n))
      b = Rational(2 * f + 1, 2**(1 - n))
    else
      e = eps.abs.to_r
      a = to_r - e
      b = to_r + e
    end
    return to_r if a == b
    Kobako::Compat.simplest_rational(a, b)
  end
end

module Kobako
  module Compat
    # The simplest rational in [a, b] by continued fractions (0 <= a < b).
    def self.simplest_rational(a, b)
      p0, p1, q0, q1 = 0, 1, 1, 0
      loop do
        c = a.ceil
        break Rational(c * p1 + p0, c * q1 + q0) if c < b
        k = c - 1
        p0, p1 = p1, k * p1 + p0
        q0, q1 = q1, k * q1 + q0
        a, b = 1 / (b - k), 1 / (a - k)
      end
    end
  end
end

# Random#rand and Kernel#rand with a Range or Float bound, as CRuby; the draws come from
# mruby's generator, not CRuby's MT19937.
module Kobako
  module Compat
    def self.rand_in(bound, &draw)
      case bound
      when Range
        lo = bound.begin
        hi = bound.end
        if lo.is_a?(Float) || hi.is_a?(Float)
          lo + draw.call(0) * (hi - lo)
        else
          span = hi - lo + (bound.exclude_end? ? 0 : 1)
          return nil if span <= 0
          lo + draw.call(span)
        end
      when Float then draw.call(0) * bound
      else draw.call(bound)
      end
    end
  end
end

class Random
  alias __kobako_rand rand
  def rand(bound = nil)
    return __kobako_rand if bound.nil?
    Kobako::Compat.rand_in(bound) { |n| n == 0 ? __kobako_rand : __kobako_rand(n) }
  end
end

module Kernel
  alias __kobako_rand rand
  def rand(bound = nil)
    bound = bound.to_i if bound.is_a?(Float) # Kernel#rand truncates, Random#rand does not
    return __kobako_rand if bound.nil? || bound == 0
    Kobako::Compat.rand_in(bound) { |n| n == 0 ? __kobako_rand : __kobako_rand(n) }
  end
  private :rand
end
