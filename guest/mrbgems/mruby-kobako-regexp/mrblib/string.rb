# String's regexp-aware methods, as CRuby defines them. src/string.c routes the
# C-written ones ([], slice, index, rindex, split, start_with?) here when given a
# Regexp; sub/gsub/scan/partition are replaced outright (a String pattern matches
# literally, through an escaped, cached Regexp).

class String
  alias __partition_plain partition
  alias __rpartition_plain rpartition
  alias __slice_bang_plain slice!

  def =~(other)
    raise TypeError, "wrong argument type String (expected Regexp)" if other.is_a?(String)

    other =~ self
  end

  def match(pattern, pos = 0, &block)
    __as_regexp(pattern).match(self, pos, &block)
  end

  def match?(pattern, pos = 0)
    __as_regexp(pattern).match?(self, pos)
  end

  def scan(pattern, &block)
    re = __literal_pattern(pattern)
    subject = __snapshot
    unless block
      found, last = re.__scan(subject)
      Regexp.__set_last_match(last && MatchData.__new(re, subject, last))
      return found
    end
    pos = 0
    last = nil
    while (m = re.__match_bytes(subject, pos))
      last = m
      pos = m.__byte_end == m.__byte_begin ? subject.__char_after(m.__byte_end) : m.__byte_end
      Regexp.__set_last_match(m)
      block.call(m.size == 1 ? m[0] : m.captures)
      break if pos > subject.bytesize
    end
    Regexp.__set_last_match(last)
    self
  end

  def sub(pattern, *replacement, &block)
    __substitute(pattern, replacement, block, false)
  end

  def gsub(pattern, *replacement, &block)
    __substitute(pattern, replacement, block, true)
  end

  def sub!(pattern, *replacement, &block)
    __substitute_in_place(pattern, replacement, block, false)
  end

  def gsub!(pattern, *replacement, &block)
    __substitute_in_place(pattern, replacement, block, true)
  end

  def partition(sep)
    return __partition_plain(sep) unless sep.is_a?(Regexp)

    m = sep.match(self)
    return [dup, "", ""] unless m

    [m.pre_match, m[0], m.post_match]
  end

  def rpartition(sep)
    return __rpartition_plain(sep) unless sep.is_a?(Regexp)

    __check_utf8
    m = sep.__match_bytes(self, bytesize, false)
    Regexp.__set_last_match(m)
    return ["", "", dup] unless m

    [m.pre_match, m[0], m.post_match]
  end

  def slice!(*args)
    return __slice_bang_plain(*args) unless args[0].is_a?(Regexp)

    m = args[0].match(self)
    return nil unless m

    group = args.size > 1 ? args[1] : 0
    piece = m[group]
    return nil if piece.nil?

    b = m.begin(group)
    replace(self[0, b] + self[(b + piece.length)..])
    piece
  end

  # -- the Regexp halves of the C methods (see src/string.c) --

  def __aref_regexp(re, group = 0)
    m = re.match(self)
    m && m[group]
  end

  def __index_regexp(re, pos = 0)
    m = re.match(self, pos)
    m&.begin(0)
  end

  def __rindex_regexp(re, pos = nil)
    __check_utf8
    chars = length
    pos = chars if pos.nil? || pos > chars
    pos += chars if pos < 0
    if pos < 0
      Regexp.__set_last_match(nil)
      return nil
    end
    m = re.__match_bytes(self, __byte_offset(pos), false)
    Regexp.__set_last_match(m)
    m&.begin(0)
  end

  def __start_with_regexp(*prefixes)
    prefixes.any? do |prefix|
      if prefix.is_a?(Regexp)
        __check_utf8
        m = prefix.__match_bytes(self, 0)
        m && m.__byte_begin.zero? ? Regexp.__set_last_match(m) && true : false
      else
        start_with?(prefix)
      end
    end
  end

  # CRuby's split on a Regexp: captures are included, an empty match splits
  # between characters, and limit works as for a String separator.
  def __split_regexp(re, limit = 0, &block)
    limit = limit.to_i
    parts = __split_parts(re, limit)
    return parts unless block

    parts.each(&block)
    self
  end

  def __split_parts(re, limit)
    subject = __snapshot
    len = bytesize
    return [] if len.zero?
    return [dup] if limit == 1

    parts = []
    beg = 0
    start = 0
    last_null = false
    count = 1
    while (m = re.__match_bytes(subject, start))
      mb = m.__byte_begin
      me = m.__byte_end
      if start == mb && mb == me
        if last_null
          parts << __bytes(beg, __char_after(beg))
          beg = start
        else
          start = __char_after(start)
          last_null = true
          break if start > len

          next
        end
      else
        parts << __bytes(beg, mb)
        beg = start = me
      end
      last_null = false
      (1...m.size).each do |i|
        offsets = m.__offsets
        parts << __bytes(offsets[i * 2], offsets[i * 2 + 1]) if offsets[i * 2] >= 0
      end
      count += 1
      break if limit > 0 && limit <= count
    end
    parts << __bytes(beg, len) if limit > 0 || len > beg || limit < 0
    parts.pop while limit.zero? && !parts.empty? && parts.last.empty?
    parts
  end

  # -- helpers --

  # A checked, frozen copy shared by every MatchData of one scan/gsub/split, so
  # each match does not copy the subject again.
  def __snapshot
    __check_utf8
    frozen? ? self : dup.freeze
  end

  # The byte offset just past the character at byte offset b (b + 1 at the end).
  def __char_after(b)
    lead = getbyte(b)
    return b + 1 if lead.nil?

    b + (lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4)
  end

  # match and match? compile a String pattern as a Regexp source.
  def __as_regexp(pattern)
    pattern.is_a?(Regexp) ? pattern : Regexp.compile(__string_arg(pattern))
  end

  # sub, gsub, scan and split match a String pattern literally.
  def __literal_pattern(pattern)
    pattern.is_a?(Regexp) ? pattern : Regexp.compile(Regexp.escape(__string_arg(pattern)))
  end

  def __string_arg(obj)
    return obj if obj.is_a?(String)
    raise TypeError, "wrong argument type #{obj.class} (expected Regexp)" unless obj.respond_to?(:to_str)

    obj.to_str
  end

  def __substitute(pattern, replacement, block, global)
    if replacement.size > 1
      raise ArgumentError, "wrong number of arguments (given #{replacement.size + 1}, expected 1..2)"
    end
    if replacement.empty? && block.nil?
      raise ArgumentError, "wrong number of arguments (given 1, expected 2)"
    end

    re = __literal_pattern(pattern)
    subject = __snapshot
    rule = replacement.empty? ? block : replacement[0]
    rule = __string_arg(rule) unless rule.is_a?(Proc) || rule.is_a?(Hash)
    if rule.is_a?(String) && !rule.include?("\\")
      result, last = re.__replace(subject, rule, global)
      Regexp.__set_last_match(last && MatchData.__new(re, subject, last))
      return result
    end
    # the block may change self: every offset reads the snapshot
    out = +""
    len = subject.bytesize
    pos = 0
    copied = 0
    last = nil
    while (offsets = re.__search(subject, pos, true))
      last = m = MatchData.__new(re, subject, offsets)
      b = offsets[0]
      e = offsets[1]
      out << subject.__bytes(copied, b)
      out << __replacement(rule, m)
      copied = e
      break unless global

      if e == b
        pos = subject.__char_after(e)
        break if pos > len

        out << subject.__bytes(e, pos)
        copied = pos
      else
        pos = e
      end
    end
    out << subject.__bytes(copied, len) if copied < len
    Regexp.__set_last_match(last)
    out
  end

  def __replacement(rule, m)
    case rule
    when String then Regexp.__expand(rule, m)
    when Hash then rule[m[0]].to_s
    else
      Regexp.__set_last_match(m)
      rule.call(m[0]).to_s
    end
  end

  def __substitute_in_place(pattern, replacement, block, global)
    raise FrozenError, "can't modify frozen String: #{inspect}" if frozen?

    result = __substitute(pattern, replacement, block, global)
    return nil if $~.nil?

    replace(result)
  end
end

class Regexp
  # A sub/gsub replacement string with \0-\9, \k<name>, \&, \`, \' and \\ filled in.
  def self.__expand(repl, m)
    return repl unless repl.include?("\\")

    out = +""
    chars = repl.chars
    i = 0
    while i < chars.size
      c = chars[i]
      d = chars[i + 1]
      if c != "\\" || d.nil?
        out << c
        i += 1
        next
      end
      i += 2
      if d >= "0" && d <= "9"
        out << m[d.to_i].to_s if d.to_i < m.size
      elsif d == "k" && chars[i] == "<" && (close = __closing(chars, i))
        out << m[chars[(i + 1)...close].join].to_s
        i = close + 1
      else
        case d
        when "&" then out << m[0]
        when "`" then out << m.pre_match
        when "'" then out << m.post_match
        when "\\" then out << "\\"
        else out << c << d
        end
      end
    end
    out
  end

  def self.__closing(chars, from)
    (from...chars.size).find { |j| chars[j] == ">" }
  end
end

class Symbol
  def =~(other)
    to_s =~ other
  end

  def match(pattern, pos = 0, &block)
    to_s.match(pattern, pos, &block)
  end

  def match?(pattern, pos = 0)
    to_s.match?(pattern, pos)
  end
end
