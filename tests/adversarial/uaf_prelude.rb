# The harness of tests/adversarial/test_uaf_fuzz.py, prepended to every fuzzed script.
# $t holds the inputs of the side now running; a Cb is a callback object that runs its
# mutations, then answers for its value. A case is
# check(kind, c_side, ref_side, build, strict) -> nil, or a description of a failure;
# strict is false (type only), true (equal when both answer) or :errors (also raise
# when the reference raises).
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
  # through ObjectSpace, as an attacker reaches a C method's private buffers; a case
  # using these is checked for type and poisoned bytes only (they hit the reference too)
  os_str: ->(t, i) {
    ObjectSpace.each_object(String) { |x| x.replace("") if !x.frozen? && x.bytesize > 8 && "[{\"".include?(x[0]) }
    GC.start },
  os_ary: ->(t, i) { ObjectSpace.each_object(Array) { |x| x.clear if !x.frozen? && Cb === x[0] }; GC.start },
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

# The length of the valid UTF-8 character at byte i, or 0 (strict, as the guest's C).
def utf8_at(s, i)
  c = s.getbyte(i)
  return 1 if c < 0x80
  n, v = c >= 0xf5 || c < 0xc2 ? [0, 0] : (c < 0xe0 ? [2, c & 0x1f] : (c < 0xf0 ? [3, c & 0x0f] : [4, c & 0x07]))
  return 0 if n == 0 || i + n > s.bytesize
  (1...n).each do |k|
    b = s.getbyte(i + k)
    return 0 unless (b & 0xc0) == 0x80
    v = (v << 6) | (b & 0x3f)
  end
  return 0 if n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))
  return 0 if n == 4 && (v < 0x10000 || v > 0x10ffff)
  n
end

# Reads the receiver live, as the C method does, and raises where it must: when a
# block changed the receiver's size (the C method also raises when only its buffer moved).
def rscrub(s, &b)
  size = s.bytesize
  out = +""
  i = 0
  while i < s.bytesize
    n = utf8_at(s, i)
    if n > 0
      out << s.byteslice(i, n)
      i += n
    else
      bad = i
      i += 1
      i += 1 while i < s.bytesize && (s.getbyte(i) & 0xc0) == 0x80
      r = b.call(s.byteslice(bad, i - bad)).to_s
      raise RuntimeError, "string modified" if s.bytesize != size
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
    return [kind, :must_raise, got.inspect, want.inspect] if strict == :errors && want && want[0] == :err
  end
  nil
end

