# Regexp, MatchData and the regexp-aware String methods, on Oniguruma.
MRuby::Gem::Specification.new('mruby-kobako-regexp') do |spec|
  spec.license = 'Apache-2.0'
  spec.author  = 'kobako_async developers'
  spec.summary = 'CRuby-compatible Regexp for the kobako guest, on Oniguruma'
  spec.add_dependency 'mruby-kobako'
  spec.add_dependency 'mruby-string-ext' # our String methods replace some of its own
  # guest/build.py builds libonig.a there, with oniguruma.h beside it
  spec.cc.include_paths << ENV.fetch('KOBAKO_ONIG')
end
