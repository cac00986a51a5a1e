# Struct.new(..., keyword_init: true) as CRuby 3.1.
class Struct
  class << self
    alias __kobako_struct_new new

    def new(*args, keyword_init: nil, &block)
      klass = __kobako_struct_new(*args, &block)
      if keyword_init
        klass.class_eval do
          def initialize(*args, **kw)
            # a C-level new hands keywords on as one positional Hash
            kw, args = args[0], [] if kw.empty? && args.size == 1 && args[0].is_a?(Hash)
            unless args.empty?
              raise ArgumentError, "wrong number of arguments (given #{args.size}, expected 0)"
            end
            names = self.class.members
            unknown = kw.keys.reject { |k| names.include?(k.to_sym) }
            raise ArgumentError, "unknown keywords: #{unknown.join(', ')}" unless unknown.empty?
            super(*names.map { |n| kw[n] })
          end
        end
        klass.singleton_class.__send__(:define_method, :keyword_init?) { true }
        name_of = klass.singleton_class
        name_of.__send__(:define_method, :inspect) { "#{name}(keyword_init: true)" }
      end
      klass
    end
  end
end
