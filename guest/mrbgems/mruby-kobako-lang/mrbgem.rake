# Language- and core-level CRuby behaviour for the kobako guest: the runtime side of
# defined?, exceptions, String encoding and Unicode case mapping, and small fixes.
MRuby::Gem::Specification.new('mruby-kobako-lang') do |spec|
  spec.license = 'Apache-2.0'
  spec.author  = 'kobako_async developers'
  spec.summary = 'CRuby-compatible language details for the kobako guest'
  spec.add_dependency 'mruby-kobako'
  spec.add_dependency 'mruby-string-ext'
  spec.add_dependency 'mruby-kobako-regexp' # grapheme_clusters uses \X
  spec.add_dependency 'mruby-metaprog' # instance_methods, wrapped in mrblib/misc.rb
  spec.cc.include_paths << ENV.fetch('KOBAKO_ONIG') # oniguruma.h, for Unicode ctype tables
end
