# IO-like writing methods over Kobako::Output#write, and the Kernel methods
# that print through $stdout and $stderr, as CRuby's do.
module Kobako
  class Output
    def print(*args)
      args.each { |a| write(a) }
      nil
    end

    def puts(*args)
      if args.empty?
        write("\n")
      else
        args.each { |a| __puts_one(a, []) }
      end
      nil
    end

    def <<(obj)
      write(obj)
      self
    end

    def printf(fmt, *args)
      write(format(fmt, *args))
      nil
    end

    def putc(ch)
      write(ch.is_a?(Integer) ? (ch & 0xff).chr : ch.to_s[0].to_s)
      ch
    end

    def flush = self
    def sync = true
    def sync=(value)
      value
    end
    def fsync = 0
    def fileno = equal?($stderr) ? 2 : 1
    def tty? = false
    alias isatty tty?

    def inspect
      equal?($stderr) ? "#<IO:<STDERR>>" : "#<IO:<STDOUT>>"
    end

    private

    def __puts_one(obj, seen)
      if obj.is_a?(Array)
        return write("[...]\n") if seen.any? { |s| s.equal?(obj) }
        seen.push(obj)
        obj.each { |e| __puts_one(e, seen) }
        seen.pop
      else
        s = obj.nil? ? "" : obj.to_s
        s = obj.inspect unless s.is_a?(String)
        write(s)
        write("\n") unless s.end_with?("\n")
      end
    end
  end
end

module Kernel
  def print(*args) = $stdout.print(*args)
  def puts(*args) = $stdout.puts(*args)
  def printf(*args) = args.empty? ? nil : $stdout.printf(*args)
  def putc(ch) = $stdout.putc(ch)

  def p(*args)
    args.each { |a| $stdout.write(a.inspect, "\n") }
    args.size <= 1 ? args.first : args
  end
  alias pp p

  def warn(*msgs, uplevel: nil, category: nil)
    $stderr.puts(*msgs) unless msgs.empty?
    nil
  end

  def display(port = $stdout)
    port.write(self)
    nil
  end

  private :print, :puts, :printf, :putc, :p, :pp, :warn
end
