# The Ruby-level surface of CRuby 3.1's json (2.6.1) around the C parser and
# generator (JSON.generate, JSON.parse, the to_json methods and JSON::State
# are defined in src/json.c).
module JSON
  VERSION = "2.6.1"

  PRETTY_OPTIONS = {indent: "  ", space: " ", object_nl: "\n", array_nl: "\n"}.freeze
  DUMP_OPTIONS = {max_nesting: false, allow_nan: true, escape_slash: false}.freeze
  LOAD_OPTIONS = {max_nesting: false, allow_nan: true, allow_blank: true}.freeze

  class Ext::Generator::State
    attr_accessor :indent, :space, :space_before, :object_nl, :array_nl, :max_nesting, :depth

    def self.from_state(opts)
      case opts
      when self then opts
      when Hash then new(opts)
      else new
      end
    end

    def allow_nan? = @allow_nan
    def ascii_only? = @ascii_only
    def escape_slash? = @escape_slash
    def check_circular? = @max_nesting != 0
    alias merge configure

    def to_h
      {indent: @indent, space: @space, space_before: @space_before, object_nl: @object_nl,
       array_nl: @array_nl, allow_nan: @allow_nan, ascii_only: @ascii_only,
       max_nesting: @max_nesting, escape_slash: @escape_slash, depth: @depth,
       buffer_initial_length: 1024}
    end
    alias to_hash to_h

    def [](name)
      instance_variable_get("@#{name}")
    end
  end

  class << self
    def pretty_generate(obj, opts = nil)
      return generate(obj, opts) if State === opts

      state = State.new(PRETTY_OPTIONS)
      state.configure(opts) if opts
      generate(obj, state)
    end

    def parse!(source, opts = nil)
      parse(source, {max_nesting: false, allow_nan: true}.merge(opts ? opts.to_h : {}))
    end

    # The String, or the IO it was written to (anything with #write).
    def dump(obj, io = nil, limit = nil)
      if limit.nil? && io.is_a?(Integer)
        limit = io
        io = nil
      end
      opts = limit ? DUMP_OPTIONS.merge(max_nesting: limit) : DUMP_OPTIONS
      begin
        text = generate(obj, opts)
      rescue NestingError
        raise ArgumentError, "exceed depth limit"
      end
      return text unless io

      io.write(text)
      io
    end

    # CRuby's load also revives "json_class" objects (create_additions); this
    # one never does.
    def load(source, proc = nil, options = nil)
      source = source.to_str if source.respond_to?(:to_str)
      source = source.read if !source.is_a?(String) && source.respond_to?(:read)
      return nil if source.nil? || source.empty?

      result = parse(source, options ? LOAD_OPTIONS.merge(options) : LOAD_OPTIONS)
      recurse_proc(result, &proc) if proc
      result
    end
    alias restore load

    def [](object, opts = {})
      object.is_a?(String) ? parse(object, opts) : generate(object, opts)
    end

    alias fast_generate generate
    alias unparse generate
    alias pretty_unparse pretty_generate

    private

    def recurse_proc(result, &proc)
      case result
      when Array then result.each { |x| recurse_proc(x, &proc) }
      when Hash then result.each { |_, v| recurse_proc(v, &proc) }
      end
      proc.call(result)
    end
  end
end

module Kernel
  private

  def JSON(object, *args)
    if object.is_a?(String)
      JSON.parse(object, args.first)
    elsif object.respond_to?(:to_str)
      JSON.parse(object.to_str, args.first)
    else
      JSON.generate(object, args.first)
    end
  end

  def j(*objs)
    objs.each { |obj| puts JSON.generate(obj, allow_nan: true, max_nesting: false) }
    nil
  end

  def jj(*objs)
    objs.each { |obj| puts JSON.pretty_generate(obj, allow_nan: true, max_nesting: false) }
    nil
  end
end
