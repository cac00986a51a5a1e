# Smaller CRuby behaviours: $0 for the `if __FILE__ == $0` idiom, and the
# methods CRuby makes private by themselves (initialize & co.) kept out of
# instance_methods.
$0 = "(eval)" # the script's __FILE__: see guest/mrbgems/mruby-kobako/src/abi.c
$PROGRAM_NAME = $0

class Module
  KOBAKO_IMPLICITLY_PRIVATE = %i[initialize initialize_copy initialize_clone initialize_dup
                                 respond_to_missing?].freeze
  private_constant :KOBAKO_IMPLICITLY_PRIVATE if respond_to?(:private_constant)

  alias __kobako_instance_methods instance_methods
  def instance_methods(all = true)
    __kobako_instance_methods(all) - KOBAKO_IMPLICITLY_PRIVATE
  end

  alias __kobako_method_defined? method_defined?
  def method_defined?(name, inherit = true)
    !KOBAKO_IMPLICITLY_PRIVATE.include?(name.to_sym) && __kobako_method_defined?(name)
  end

end
