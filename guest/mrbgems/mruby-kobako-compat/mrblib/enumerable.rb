# Enumerable methods of CRuby 3.1 that mruby 3.3 lacks, and n-argument min/max.
module Enumerable
  def chunk_while(&block)
    raise ArgumentError, "tried to create Proc object without a block" unless block
    src = self
    Enumerator.new do |y|
      acc = nil
      prev = nil
      src.each do |*xs|
        x = xs.size > 1 ? xs : xs[0]
        if acc.nil?
          acc = [x]
        elsif block.call(prev, x)
          acc << x
        else
          y << acc
          acc = [x]
        end
        prev = x
      end
      y << acc if acc
    end
  end

  def slice_when(&block)
    raise ArgumentError, "tried to create Proc object without a block" unless block
    chunk_while { |a, b| !block.call(a, b) }
  end

  def slice_before(*pattern, &block)
    test = pattern.empty? ? block : lambda { |x| pattern[0] === x }
    src = self
    Enumerator.new do |y|
      acc = nil
      src.each do |*xs|
        x = xs.size > 1 ? xs : xs[0]
        if acc && test.call(x)
          y << acc
          acc = nil
        end
        (acc ||= []) << x
      end
      y << acc if acc
    end
  end

  def slice_after(*pattern, &block)
    test = pattern.empty? ? block : lambda { |x| pattern[0] === x }
    src = self
    Enumerator.new do |y|
      acc = nil
      src.each do |*xs|
        x = xs.size > 1 ? xs : xs[0]
        (acc ||= []) << x
        if test.call(x)
          y << acc
          acc = nil
        end
      end
      y << acc if acc
    end
  end

  def chunk(&block)
    return to_enum(:chunk) unless block
    src = self
    Enumerator.new do |y|
      key = nil
      acc = nil
      src.each do |*xs|
        x = xs.size > 1 ? xs : xs[0]
        k = block.call(x)
        if k.nil? || k == :_separator
          y << [key, acc] if acc
          acc = nil
        elsif k == :_alone
          y << [key, acc] if acc
          y << [:_alone, [x]]
          acc = nil
        elsif acc && k == key
          acc << x
        else
          y << [key, acc] if acc
          key = k
          acc = [x]
        end
      end
      y << [key, acc] if acc
    end
  end

  def grep_v(pattern, &block)
    r = []
    each do |*xs|
      x = xs.size > 1 ? xs : xs[0]
      next if pattern === x
      r << (block ? block.call(x) : x)
    end
    r
  end

  def compact
    r = []
    each { |*xs| x = xs.size > 1 ? xs : xs[0]; r << x unless x.nil? }
    r
  end

  def each_entry(&block)
    return to_enum(:each_entry) unless block
    each { |*xs| block.call(xs.size > 1 ? xs : xs[0]) }
    self
  end

  alias __kobako_min min
  def min(n = nil, &block)
    return __kobako_min(&block) if n.nil?
    Kobako::Compat.sorted(to_a, block).first(n)
  end

  alias __kobako_max max
  def max(n = nil, &block)
    return __kobako_max(&block) if n.nil?
    Kobako::Compat.sorted(to_a, block).reverse.first(n)
  end

  alias __kobako_min_by min_by
  def min_by(n = nil, &block)
    return __kobako_min_by(&block) if n.nil?
    return to_enum(:min_by, n) unless block
    Kobako::Compat.sort_by(to_a, block).first(n)
  end

  alias __kobako_max_by max_by
  def max_by(n = nil, &block)
    return __kobako_max_by(&block) if n.nil?
    return to_enum(:max_by, n) unless block
    Kobako::Compat.sort_by(to_a, block).reverse.first(n)
  end

  def sum(init = 0, &block)
    Kobako::Compat.sum(self, init, block)
  end
end

class Array
  alias __kobako_ary_min min
  def min(n = nil, &block)
    return __kobako_ary_min(&block) if n.nil?
    Kobako::Compat.sorted(self, block).first(n)
  end

  alias __kobako_ary_max max
  def max(n = nil, &block)
    return __kobako_ary_max(&block) if n.nil?
    Kobako::Compat.sorted(self, block).reverse.first(n)
  end

  def sum(init = 0, &block)
    Kobako::Compat.sum(self, init, block)
  end

  def sort_by!(&block)
    return to_enum(:sort_by!) unless block
    replace(sort_by(&block))
  end
end

module Kobako
  module Compat
    def self.sorted(a, block)
      block ? a.sort(&block) : a.sort
    end

    def self.sort_by(a, block)
      a.map { |x| [block.call(x), x] }.sort { |p, q| p[0] <=> q[0] }.map { |p| p[1] }
    end

    # CRuby's sum: exact while the terms are Integers, then Kahan-Babuska
    # compensated once a Float appears, so [0.1] * 10 sums to 1.0.
    def self.sum(enum, init, block)
      v = init
      f = nil
      c = 0.0
      enum.each do |*xs|
        x = xs.size > 1 ? xs : xs[0]
        x = block.call(x) if block
        if f
          if x.is_a?(Float) || x.is_a?(Integer) || x.is_a?(Rational)
            x = x.to_f
            if f.finite? && x.finite?
              t = f + x
              if f.abs >= x.abs
                c += ((f - t) + x)
              else
                c += ((x - t) + f)
              end
              f = t
            else
              f += x
            end
            next
          end
          v = f + c
          f = nil
          v += x
        elsif x.is_a?(Float) && (v.is_a?(Float) || v.is_a?(Integer) || v.is_a?(Rational))
          f = v.to_f
          c = 0.0
          redo_x = x
          t = f + redo_x
          if f.abs >= redo_x.abs
            c += ((f - t) + redo_x)
          else
            c += ((redo_x - t) + f)
          end
          f = t
        else
          v += x
        end
      end
      f ? f + c : v
    end
  end
end

class Range
  alias __kobako_rng_min min
  def min(n = nil, &block)
    return __kobako_rng_min(&block) if n.nil?
    to_a.min(n, &block)
  end

  alias __kobako_rng_max max
  def max(n = nil, &block)
    return __kobako_rng_max(&block) if n.nil?
    to_a.max(n, &block)
  end
end

# max_by/min_by/minmax_by compare keys with <=>, as CRuby, so Array keys work.
module Enumerable
  def max_by(n = nil, &block)
    return to_enum(:max_by, n) unless block
    return sort_by(&block).reverse.first(n) if n
    Kobako::Compat.extreme_by(self, 1, &block)
  end

  def min_by(n = nil, &block)
    return to_enum(:min_by, n) unless block
    return sort_by(&block).first(n) if n
    Kobako::Compat.extreme_by(self, -1, &block)
  end

  def minmax_by(&block)
    return to_enum(:minmax_by) unless block
    [min_by(&block), max_by(&block)]
  end
end

module Kobako
  module Compat
    # the first element whose key compares as sign (1: largest, -1: smallest)
    def self.extreme_by(enum, sign)
      best = nil
      best_key = nil
      seen = false
      enum.each do |*x|
        x = x.size == 1 ? x[0] : x
        k = yield(x)
        if seen
          c = k <=> best_key
          raise ArgumentError, "comparison of #{k.class} with #{best_key.class} failed" if c.nil?
          next unless c * sign > 0
        end
        seen = true
        best = x
        best_key = k
      end
      best
    end
  end
end
