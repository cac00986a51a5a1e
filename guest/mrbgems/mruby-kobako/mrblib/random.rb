# Random.new without a seed draws its seed from the run (src/random.c), rather
# than mruby's fixed default state.
class Random
  alias __kobako_initialize initialize
  private :__kobako_initialize

  def initialize(*args)
    args = [::Kobako.__random_seed] if args.empty?
    __kobako_initialize(*args)
  end
end
