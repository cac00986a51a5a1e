# A timing harness for the benchmarks: the kobako-native-bench command.
MRuby::Gem::Specification.new('mruby-kobako-bench') do |spec|
  spec.license = 'Apache-2.0'
  spec.author  = 'kobako_async developers'
  spec.summary = 'Times Ruby scripts inside one native mruby process'
  spec.bins = %w[kobako-native-bench]
  spec.add_dependency('mruby-compiler', core: 'mruby-compiler')
end
