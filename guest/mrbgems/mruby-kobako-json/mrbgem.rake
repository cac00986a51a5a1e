# JSON for the kobako guest: CRuby 3.1's json 2.6 API (generate, pretty_generate,
# to_json, parse, dump, load), a C parser and generator with bounded depth.
MRuby::Gem::Specification.new('mruby-kobako-json') do |spec|
  spec.license = 'Apache-2.0'
  spec.author  = 'kobako_async developers'
  spec.summary = 'JSON parser and generator matching CRuby json 2.6 output'
  spec.add_dependency 'mruby-bigint', core: 'mruby-bigint'
  spec.add_dependency 'mruby-kobako' # scratch memory (kobako.h)
end
