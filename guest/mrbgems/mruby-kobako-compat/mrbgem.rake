# CRuby-compatible core behaviour for scripts written against CRuby (issue 7):
# require, Time#strftime and friends, Enumerable/Integer/Hash/Range methods mruby
# 3.3 lacks, and CRuby's message and inspect formats. Float printing and parsing,
# $! and NoMethodError messages are C-level fixes in guest/patches/2x-*.patch.
MRuby::Gem::Specification.new('mruby-kobako-compat') do |spec|
  spec.license = 'Apache-2.0'
  spec.author  = 'kobako_async developers'
  spec.summary = 'CRuby-compatible core behaviour for the kobako sandbox guest'
  # loaded after the gems whose methods it redefines
  %w[mruby-hash-ext mruby-array-ext mruby-enum-ext mruby-compar-ext mruby-numeric-ext
     mruby-kernel-ext mruby-struct mruby-time mruby-set mruby-rational mruby-random
     mruby-range-ext mruby-string-ext mruby-method mruby-metaprog mruby-enumerator
     mruby-sprintf].each { |name| spec.add_dependency name, core: name }
end
