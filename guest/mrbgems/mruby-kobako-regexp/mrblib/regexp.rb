# Regexp and MatchData with CRuby's API, over the primitives of src/regexp.c.
#
# Offsets from the engine are bytes; CRuby's API speaks in characters, so the
# conversions happen here, only where a caller asks for a position.

class RegexpError < StandardError; end

class Regexp
  class TimeoutError < RegexpError; end

  IGNORECASE = 1
  EXTENDED = 2
  MULTILINE = 4
  # Literals compiled so far, per option string: a literal in a loop compiles once.
  # The interpreter is fresh for every run, so this cache is per run.
  LITERALS = {}
  LITERALS_MAX = 4096

  def self.compile(source, options = nil, _encoding = nil)
    return new(source, options) unless source.is_a?(String) && (options.nil? || options.is_a?(String))

    cache = (LITERALS[options] ||= {})
    cached = cache[source]
    return cached if cached

    LITERALS.clear if cache.size >= LITERALS_MAX
    (LITERALS[options] ||= {})[source] = new(source, options).freeze
  end

  def initialize(source, options = nil, _encoding = nil)
    if source.is_a?(Regexp)
      @source = source.source
      @options = source.options
    else
      raise TypeError, "no implicit conversion of #{source.class} into String" unless source.is_a?(String)

      @source = source.dup.freeze
      @options = Regexp.__options(options)
    end
    __compile(@source, @options)
  end

  def self.__options(options)
    case options
    when Integer then options & (IGNORECASE | EXTENDED | MULTILINE)
    when String
      options.each_char.reduce(0) do |bits, flag|
        case flag
        when "i" then bits | IGNORECASE
        when "x" then bits | EXTENDED
        when "m" then bits | MULTILINE
        when "o", "u", "n", "e", "s" then bits
        else raise ArgumentError, "unknown regexp option: #{options}"
        end
      end
    when nil, false then 0
    else IGNORECASE
    end
  end

  attr_reader :source, :options

  def self.escape(str)
    str = str.to_s if str.is_a?(Symbol)
    out = +""
    str.each_char do |c|
      out << case c
             when "\n" then "\\n"
             when "\t" then "\\t"
             when "\r" then "\\r"
             when "\f" then "\\f"
             when "\v" then "\\v"
             when " " then "\\ "
             when ".", "*", "?", "+", "^", "$", "|", "(", ")", "[", "]", "{", "}", "\\", "/", "-", "#"
               "\\#{c}"
             else c
             end
    end
    out
  end

  class << self
    alias quote escape
  end

  def self.union(*patterns)
    patterns = patterns.first if patterns.size == 1 && patterns.first.is_a?(Array)
    return /(?!)/ if patterns.empty?
    return patterns.first if patterns.size == 1 && patterns.first.is_a?(Regexp)

    new(patterns.map { |p| p.is_a?(Regexp) ? p.to_s : escape(p.to_s) }.join("|"))
  end

  def self.last_match(n = nil)
    m = $~
    return m if n.nil?

    m && m[n]
  end

  # What $1..$9, $&, $`, $' and $+ read (the compiler turns them into this call).
  def self.__ref(which)
    m = $~
    return nil unless m

    case which
    when Integer then m[which]
    when :& then m[0]
    when :` then m.pre_match
    when :"'" then m.post_match
    when :+ then m.captures.reverse_each.find { |c| !c.nil? }
    end
  end

  def ===(obj)
    return false unless obj.is_a?(String) || obj.is_a?(Symbol)

    !match(obj.to_s).nil?
  end

  def __match_bytes(str, start, forward = true)
    offsets = __search(str, start, forward)
    offsets && MatchData.__new(self, str, offsets)
  end

  def names
    __names.keys
  end

  # {"name" => [group numbers]} in the order the names first appear.
  def __names
    table = __name_table
    return table if table.size < 2

    ordered = {}
    table.keys.sort_by { |name| table[name].min }.each { |name| ordered[name] = table[name] }
    ordered
  end

  def named_captures
    __names
  end

  def casefold?
    (@options & IGNORECASE) != 0
  end

  def ==(other)
    other.is_a?(Regexp) && @source == other.source && @options == other.options
  end
  alias eql? ==

  def hash
    @source.hash ^ @options
  end

  def __flags
    f = +""
    f << "m" if (@options & MULTILINE) != 0
    f << "i" if (@options & IGNORECASE) != 0
    f << "x" if (@options & EXTENDED) != 0
    f
  end

  def inspect
    "/#{Regexp.__escape_slashes(@source)}/#{__flags}"
  end

  def to_s
    on = __flags
    off = +""
    off << "m" if (@options & MULTILINE) == 0
    off << "i" if (@options & IGNORECASE) == 0
    off << "x" if (@options & EXTENDED) == 0
    off = "-#{off}" unless off.empty?
    "(?#{on}#{off}:#{Regexp.__escape_slashes(@source)})"
  end

  # A source as it would sit between slashes: unescaped "/" gets a backslash.
  def self.__escape_slashes(src)
    out = +""
    escaped = false
    src.each_char do |c|
      if escaped
        escaped = false
      elsif c == "\\"
        escaped = true
      elsif c == "/"
        out << "\\"
      end
      out << c
    end
    out
  end

  def initialize_copy(other)
    @source = other.source
    @options = other.options
    __compile(@source, @options)
  end
end

class MatchData
  class << self
    undef_method :new
  end

  attr_reader :regexp, :string

  def size
    @offsets.size / 2
  end
  alias length size

  def __group(key)
    case key
    when Integer then key
    when String, Symbol
      nums = @regexp.__names[key.to_s]
      raise IndexError, "undefined group name reference: #{key}" unless nums

      # the last group of that name that matched, as CRuby picks
      nums.reverse_each.find { |n| @offsets[n * 2] >= 0 } || nums.last
    else
      raise TypeError, "no implicit conversion of #{key.class} into Integer"
    end
  end

  def __capture(n)
    return nil if n >= size || n < -size

    n += size if n < 0
    b = @offsets[n * 2]
    b < 0 ? nil : @string.__bytes(b, @offsets[n * 2 + 1])
  end

  def [](key, length = nil)
    return to_a[key, length] if length
    return to_a[key] if key.is_a?(Range)

    __capture(__group(key))
  end

  def to_a
    (0...size).map { |i| __capture(i) }
  end

  def captures
    to_a.drop(1)
  end
  alias deconstruct captures

  def names
    @regexp.names
  end

  def named_captures(symbolize_names: false)
    h = {}
    @regexp.__names.each_key do |name|
      h[symbolize_names ? name.to_sym : name] = self[name]
    end
    h
  end

  def values_at(*keys)
    keys.map { |k| self[k] }
  end

  def pre_match
    @string.__bytes(0, @offsets[0])
  end

  def post_match
    @string.__bytes(@offsets[1], @string.bytesize)
  end

  def to_s
    self[0]
  end

  def begin(n)
    b = @offsets[__checked_group(n) * 2]
    b < 0 ? nil : @string.__char_offset(b)
  end

  def end(n)
    e = @offsets[__checked_group(n) * 2 + 1]
    e < 0 ? nil : @string.__char_offset(e)
  end

  def offset(n)
    [self.begin(n), self.end(n)]
  end

  def __checked_group(key)
    n = __group(key)
    raise IndexError, "index #{n} out of matches" if n < 0 || n >= size

    n
  end

  # Byte offsets of the whole match, for String's methods.
  def __byte_begin
    @offsets[0]
  end

  def __byte_end
    @offsets[1]
  end

  def ==(other)
    other.is_a?(MatchData) && @string == other.string && @regexp == other.regexp &&
      @offsets == other.__offsets
  end
  alias eql? ==

  def __offsets
    @offsets
  end

  def inspect
    table = @regexp.__names
    labels = Array.new(size)
    table.each { |name, nums| nums.each { |n| labels[n] = name } }
    parts = (0...size).map do |i|
      value = __capture(i)
      shown = value.nil? ? "nil" : value.inspect
      i.zero? ? shown : "#{labels[i] || i}:#{shown}"
    end
    "#<MatchData #{parts.join(' ')}>"
  end
end
