# Strings in the guest are UTF-8 (MRB_UTF8_STRING). CRuby's Encoding objects exist
# for code that asks; a string carries no encoding of its own, so force_encoding and
# #b accept CRuby's names and keep the bytes, and #encoding is always UTF-8.
class Encoding
  attr_reader :name, :names

  def initialize(names)
    @name = names.first
    @names = names
  end

  def to_s = @name
  def inspect = "#<Encoding:#{@name}>"
  def ascii_compatible? = true
  def dummy? = false

  UTF_8 = new(%w[UTF-8 CP65001])
  ASCII_8BIT = new(%w[ASCII-8BIT BINARY])
  BINARY = ASCII_8BIT
  US_ASCII = new(%w[US-ASCII ASCII ANSI_X3.4-1968 646])
  ASCII = US_ASCII

  class CompatibilityError < EncodingError; end
  class UndefinedConversionError < EncodingError; end
  class InvalidByteSequenceError < EncodingError; end
  class ConverterNotFoundError < EncodingError; end

  class << self
    undef_method :new

    def list = [ASCII_8BIT, UTF_8, US_ASCII]
    def name_list = list.flat_map(&:names)
    def default_external = UTF_8
    def default_internal = nil

    def find(name)
      return name if name.is_a?(Encoding)
      key = name.to_s.upcase
      list.find { |e| e.names.any? { |n| n.upcase == key } } ||
        raise(ArgumentError, "unknown encoding name - #{name}")
    end
  end
end

class String
  def encoding = Encoding::UTF_8

  def force_encoding(enc)
    Encoding.find(enc)
    raise FrozenError, "can't modify frozen String: #{inspect}" if frozen?
    self
  end

  def b = dup


  def scrub!(replacement = nil, &block) = replace(scrub(replacement, &block))

  def encode(enc = nil, *_rest, invalid: nil, undef: nil, replace: nil, **_opts)
    Encoding.find(enc) if enc
    invalid == :replace ? scrub(replace || "\uFFFD") : dup
  end

  def unicode_normalize(_form = :nfc) = dup

  def grapheme_clusters = scan(/\X/)

  def each_grapheme_cluster(&block)
    return to_enum(:each_grapheme_cluster) unless block
    grapheme_clusters.each(&block)
    self
  end

  def sum(bits = 16)
    total = 0
    each_byte { |b| total += b }
    bits > 0 ? total & ((1 << bits) - 1) : total
  end

  def +@ = frozen? ? dup : self
  def -@ = frozen? ? self : dup.freeze
  alias dedup -@
end

class Integer
  alias __kobako_chr chr
  # chr(Encoding::UTF_8) as well as chr("UTF-8")
  def chr(*enc) = __kobako_chr(*enc.map { |e| e.is_a?(Encoding) ? e.name : e })
end
