# The harness of tests/adversarial/test_uaf_fuzz.py, prepended to every fuzzed script.
# $t holds the inputs of the side now running; a Cb is a callback object that runs its
# mutations, then answers for its value. A case is
# check(kind, c_side, ref_side, build, strict) -> nil, or a description of a failure.
MUTATIONS = {
  rep: ->(t, i) { x = t[i % t.size]; x.replace(x.is_a?(String) ? "FZr" * 9 : (x.is_a?(Array) ? [1, "FZa"] : {"FZh" => 2})) },
  clr: ->(t, i) { x = t[i % t.size]; x.clear },
  add: ->(t, i) { x = t[i % t.size]; next if x.size > 12 # bounded: an iterator may follow it
    x.is_a?(Hash) ? x["FZn#{i}"] = i : (x << (x.is_a?(String) ? "FZp" * 30 : "FZe")) },
  cut: ->(t, i) { x = t[i % t.size]; x.is_a?(Hash) ? x.shift : (x.is_a?(String) ? x.slice!(0, 3) : x.shift) },
  del: ->(t, i) { x = t[i % t.size]; x.is_a?(Hash) ? x.delete(x.keys.first) : (x.is_a?(String) ? x.chop! : x.pop) },
  rev: ->(t, i) { x = t[i % t.size]; x.is_a?(Hash) ? x.rehash : x.reverse! },
  gc: ->(t, i) { GC.start },
  churn: ->(t, i) { Array.new(40) { |k| "FZc" * (k + i) }; {} },
}
def mutate(spec)
  # not while building the inputs, and not from a mutation's own callbacks (rehash
  # calling Cb#hash would recurse through C frames: a known TrapError, SECURITY.md)
  return if $t.nil? || $mutating
  begin
    $mutating = true
    spec.each do |name, i|
      MUTATIONS[name].call($t, i)
    rescue FrozenError, TypeError, ArgumentError, IndexError, RuntimeError
    end
  ensure
    $mutating = false
  end
  nil
end

class Cb
  attr_reader :val
  def initialize(val, spec) = (@val = val; @spec = spec)
  def to_json(*) = (mutate(@spec); JSON.generate(@val))
  def to_s = (mutate(@spec); @val.to_s)
  def inspect = (mutate(@spec); @val.inspect)
  def <=>(o) = (mutate(@spec); @val <=> (o.is_a?(Cb) ? o.val : o))
  def ==(o) = (mutate(@spec); o.is_a?(Cb) && @val == o.val)
  def eql?(o) = (mutate(@spec); o.is_a?(Cb) && @val.eql?(o.val))
  def hash = (mutate(@spec); @val.hash)
end

def rjson(v)
  case v
  when Cb then mutate(v.instance_variable_get(:@spec)); JSON.generate(v.val)
  when Hash
    out = +"{"
    first = true
    v.each { |k, x| out << "," unless first; first = false; out << rjson(k.to_s) << ":" << rjson(x) }
    out << "}"
  when Array
    out = +"["
    i = 0
    while i < v.size
      out << "," if i > 0
      out << rjson(v[i])
      i += 1
    end
    out << "]"
  when String then '"' + v + '"'
  when nil then "null"
  else v.to_s
  end
end

def rscrub(s, &b)
  snap = s.dup
  size = s.bytesize
  out = +""
  bytes = snap.bytes
  i = 0
  while i < bytes.size
    c = bytes[i]
    n = c < 0x80 ? 1 : (c >= 0xc2 && c < 0xe0 ? 2 : (c >= 0xe0 && c < 0xf0 ? 3 : (c >= 0xf0 && c < 0xf5 ? 4 : 0)))
    piece = n > 0 ? snap.byteslice(i, n) : nil
    if piece && piece.valid_encoding? && piece.bytesize == n
      out << piece
      i += n
    else
      bad = i
      i += 1
      while i < bytes.size && (bytes[i] & 0xc0) == 0x80
        i += 1
      end
      r = b.call(snap.byteslice(bad, i - bad)).to_s
      raise RuntimeError, "string modified" if s.bytesize != size || s != snap
      out << r
    end
  end
  out
end

def rgsub(s, re, &b)
  snap = s.dup
  out = +""
  pos = 0
  while (m = re.match(snap, pos))
    out << snap[pos...m.begin(0)] << b.call(m[0]).to_s
    pos = m.end(0)
    if m.end(0) == m.begin(0)
      out << snap[pos].to_s
      pos += 1
    end
    break if pos > snap.size
  end
  out << snap[pos..].to_s
end

def rscan(s, re, &b)
  snap = s.dup
  pos = 0
  while (m = re.match(snap, pos))
    b.call(m[0])
    pos = m.end(0) == m.begin(0) ? m.end(0) + 1 : m.end(0)
    break if pos > snap.size
  end
  s
end

def rsort_by(a, &b)
  keyed = a.dup.map { |x| [b.call(x), x] }
  keyed.sort { |p, q| p[0] <=> q[0] }.map(&:last)
end

def capture
  [:ok, yield]
rescue StandardError => e
  [:err, e.class.name]
end

def poisoned?(v, depth = 0)
  return false if depth > 20
  case v
  when String then v.bytes.include?(0xDB)
  when Array then v.any? { |x| poisoned?(x, depth + 1) }
  when Hash then v.any? { |k, x| poisoned?(k, depth + 1) || poisoned?(x, depth + 1) }
  else false
  end
end

TYPES = {json: String, scrub: String, gsub: String, scan: String, write: Integer,
         sort_by: Array, each_char: Array, join: String, inspect: String, include: [true, false],
         index: [Integer, NilClass], delete: Object, uniq: Array, minus: Array, eq: [true, false],
         cmp: [Integer, NilClass], hash_get: Object, hash_eq: [true, false], format: String,
         max: Object, ary_hash: Integer}

def check(kind, c, r, build, strict)
  $t = nil
  $t = build.call
  got = capture { c.call($t) }
  $t = nil
  $t = build.call
  want = r ? capture { r.call($t) } : nil
  $t = nil
  return [kind, :poison, got.inspect] if poisoned?(got)
  if got[0] == :ok
    types = Array(TYPES[kind])
    ok_type = types.any? { |t| t.is_a?(Module) ? got[1].is_a?(t) : got[1] == t }
    return [kind, :type, got.inspect] unless ok_type
    return [kind, :differs, got.inspect, want.inspect] if strict && want && want[0] == :ok && got != want
  end
  nil
end

