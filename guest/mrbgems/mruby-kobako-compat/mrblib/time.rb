# Time#strftime, iso8601 and the rest of CRuby's Time API the guest lacks.
# Local time is UTC: the guest has no time zone data.
class Time
  DAYNAMES = %w[Sunday Monday Tuesday Wednesday Thursday Friday Saturday]
  MONTHNAMES = [nil, "January", "February", "March", "April", "May", "June", "July",
                "August", "September", "October", "November", "December"]

  class << self
    alias __kobako_at at

    # Time.at(sec), Time.at(sec, usec) and Time.at(sec, sub, unit)
    def at(sec, sub = nil, unit = :microsecond, in: nil)
      return __kobako_at(sec) if sub.nil?
      per_sec = case unit
                when :millisecond then 1000
                when :usec, :microsecond then 1_000_000
                when :nsec, :nanosecond then 1_000_000_000
                else raise ArgumentError, "unexpected unit: #{unit}"
                end
      __kobako_at(sec, sub * 1_000_000 / per_sec)
    end
  end

  def zone
    "UTC"
  end

  def nsec
    usec * 1000
  end

  alias tv_sec to_i
  alias tv_usec usec
  alias tv_nsec nsec

  def utc_offset
    0
  end
  alias gmt_offset utc_offset
  alias gmtoff utc_offset

  def isdst
    false
  end
  alias dst? isdst

  def to_a
    [sec, min, hour, day, month, year, wday, yday, false, zone]
  end

  def inspect
    u = usec
    return to_s if u == 0
    frac = format("%06d", u)
    frac = frac[0, frac.size - 1] while frac.end_with?("0")
    s = strftime("%Y-%m-%d %H:%M:%S")
    "#{s}.#{frac} #{utc? ? 'UTC' : '+0000'}"
  end

  def xmlschema(digits = 0)
    s = strftime("%Y-%m-%dT%H:%M:%S")
    s += "." + format("%06d", usec)[0, digits].ljust(digits, "0") if digits > 0
    s + (utc? ? "Z" : "+00:00")
  end
  alias iso8601 xmlschema

  def httpdate
    getutc.strftime("%a, %d %b %Y %H:%M:%S GMT")
  end

  def rfc2822
    strftime("%a, %d %b %Y %H:%M:%S ") + (utc? ? "-0000" : "+0000")
  end
  alias rfc822 rfc2822

  def strftime(fmt)
    out = ""
    i = 0
    n = fmt.size
    while i < n
      c = fmt[i]
      if c != "%" || i + 1 >= n
        out << c
        i += 1
        next
      end
      j = i + 1
      flags = ""
      while j < n && "-_0^#:".include?(fmt[j])
        flags << fmt[j]
        j += 1
      end
      width = nil
      while j < n && fmt[j] >= "0" && fmt[j] <= "9"
        width = (width || 0) * 10 + fmt[j].to_i
        j += 1
      end
      if j >= n
        out << fmt[i, j - i]
        break
      end
      conv = fmt[j]
      piece = __kobako_directive(conv, flags, width)
      if piece.nil?
        out << fmt[i..j]
      else
        out << piece
      end
      i = j + 1
    end
    out
  end

  private

  def __kobako_num(v, flags, width, default_width, pad = "0")
    pad = " " if flags.include?("_")
    pad = "0" if flags.include?("0")
    s = v.abs.to_s
    w = width || default_width
    return (v < 0 ? "-" : "") + s if flags.include?("-")
    if v < 0
      "-" + s.rjust(w - 1, pad)
    else
      s.rjust(w, pad)
    end
  end

  def __kobako_text(s, flags, width)
    s = s.upcase if flags.include?("^") || flags.include?("#")
    return s if width.nil? || flags.include?("-")
    s.rjust(width, flags.include?("0") ? "0" : " ")
  end

  def __kobako_directive(conv, flags, width)
    case conv
    when "Y" then __kobako_num(year, flags, width, 1)
    when "C" then __kobako_num(year / 100, flags, width, 2)
    when "y" then __kobako_num(year % 100, flags, width, 2)
    when "m" then __kobako_num(month, flags, width, 2)
    when "d" then __kobako_num(day, flags, width, 2)
    when "e" then __kobako_num(day, flags, width, 2, " ")
    when "j" then __kobako_num(yday, flags, width, 3)
    when "H" then __kobako_num(hour, flags, width, 2)
    when "k" then __kobako_num(hour, flags, width, 2, " ")
    when "I" then __kobako_num((hour % 12).zero? ? 12 : hour % 12, flags, width, 2)
    when "l" then __kobako_num((hour % 12).zero? ? 12 : hour % 12, flags, width, 2, " ")
    when "M" then __kobako_num(min, flags, width, 2)
    when "S" then __kobako_num(sec, flags, width, 2)
    when "L", "N"
      w = width || (conv == "L" ? 3 : 9)
      digits = format("%06d", usec) + "000"
      w <= 9 ? digits[0, w] : digits.ljust(w, "0")
    when "z"
      colons = flags.count(":")
      body = case colons
             when 0 then "0000"
             when 1 then "00:00"
             else "00:00:00"
             end
      s = "+" + body
      width && !flags.include?("-") ? "+" + body.rjust(width - 1, "0") : s
    when "Z" then __kobako_text(utc? ? "UTC" : zone, flags, width)
    when "A" then __kobako_text(DAYNAMES[wday], flags, width)
    when "a" then __kobako_text(DAYNAMES[wday][0, 3], flags, width)
    when "B" then __kobako_text(MONTHNAMES[month], flags, width)
    when "b", "h" then __kobako_text(MONTHNAMES[month][0, 3], flags, width)
    when "p"
      s = hour < 12 ? "AM" : "PM"
      s = s.downcase if flags.include?("#")
      __kobako_text(s, flags.delete("#"), width)
    when "P" then __kobako_text(hour < 12 ? "am" : "pm", flags, width)
    when "u" then __kobako_num(wday.zero? ? 7 : wday, flags, width, 1)
    when "w" then __kobako_num(wday, flags, width, 1)
    when "U" then __kobako_num((yday - 1 - wday + 7) / 7, flags, width, 2)
    when "W" then __kobako_num((yday - 1 - (wday - 1) % 7 + 7) / 7, flags, width, 2)
    when "s" then __kobako_num(to_i, flags, width, 1)
    when "F" then __kobako_text(strftime("%Y-%m-%d"), flags, width)
    when "T", "X" then __kobako_text(strftime("%H:%M:%S"), flags, width)
    when "D", "x" then __kobako_text(strftime("%m/%d/%y"), flags, width)
    when "R" then __kobako_text(strftime("%H:%M"), flags, width)
    when "r" then __kobako_text(strftime("%I:%M:%S %p"), flags, width)
    when "c" then __kobako_text(strftime("%a %b %e %H:%M:%S %Y"), flags, width)
    when "v" then __kobako_text(strftime("%e-%^b-%Y"), flags, width)
    when "+" then __kobako_text(strftime("%a %b %e %H:%M:%S %Z %Y"), flags, width)
    when "n" then "\n"
    when "t" then "\t"
    when "%" then "%"
    end
  end
end

# Time.gm/utc/local/mktime accept CRuby's month names ("jan") and String parts ("10").
class Time
  class << self
    %i[gm utc local mktime].each do |name|
      orig = :"__kobako_#{name}"
      alias_method orig, name
      define_method(name) do |*parts|
        __send__(orig, *Kobako::Compat.time_parts(parts))
      end
    end
  end
end

module Kobako
  module Compat
    MONTH_ABBRS = %w[jan feb mar apr may jun jul aug sep oct nov dec]

    def self.time_parts(parts)
      parts.each_with_index.map do |v, i|
        next v unless v.is_a?(String)
        month = i == 1 ? MONTH_ABBRS.index(v.downcase) : nil
        month ? month + 1 : Integer(v, 10)
      end
    end
  end
end
