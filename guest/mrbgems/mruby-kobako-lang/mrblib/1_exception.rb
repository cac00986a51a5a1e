# Exception classes CRuby has and mruby lacks, placed in CRuby's hierarchy, and the
# Exception methods whose output scripts print.
class Object
  {
    ScriptError: Exception, NotImplementedError: :ScriptError, LoadError: :ScriptError,
    SecurityError: Exception, SignalException: Exception, Interrupt: :SignalException,
    SystemExit: Exception, IOError: StandardError, EOFError: :IOError,
    EncodingError: StandardError, FloatDomainError: :RangeError,
    UncaughtThrowError: :ArgumentError, ThreadError: StandardError,
    ClosedQueueError: :StopIteration, NoMatchingPatternError: StandardError,
    NoMatchingPatternKeyError: :NoMatchingPatternError, SystemCallError: StandardError
  }.each do |name, parent|
    parent = Object.const_get(parent) if parent.is_a?(Symbol)
    Object.const_set(name, Class.new(parent)) unless Object.const_defined?(name)
  end
end

class SystemExit
  attr_reader :status

  def initialize(*args)
    @status = 0
    @status = args.shift if args.first.is_a?(Integer)
    @status = args.shift ? 0 : 1 if args.first == true || args.first == false
    super(*args)
  end

  def success? = @status == 0
end

class Exception
  # CRuby 3.1: the class name alone for an empty message, else #<Class: message>
  def inspect
    text = to_s
    text.empty? ? self.class.to_s : "#<#{self.class}: #{text}>"
  end

  def ==(other)
    return true if equal?(other)
    other.instance_of?(self.class) && message == other.message && backtrace == other.backtrace
  end

  def full_message(highlight: false, order: :top)
    lines = backtrace || []
    head = "#{lines.first || "-"}: #{message} (#{self.class})"
    rest = lines.drop(1).map { |l| "\tfrom #{l}" }
    if order == :bottom
      (["Traceback (most recent call last):"] + rest.reverse + [head]).join("\n") + "\n"
    else
      ([head] + rest).join("\n") + "\n"
    end
  end
end
