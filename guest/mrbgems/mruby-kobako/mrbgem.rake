# The kobako guest gem: output capture and the value codec.
MRuby::Gem::Specification.new('mruby-kobako') do |spec|
  spec.license = 'Apache-2.0'
  spec.author  = 'kobako_async developers'
  spec.summary = 'Output capture and msgpack value codec for the kobako sandbox guest'
  spec.export_include_paths = ["#{dir}/include"]
  spec.add_dependency 'mruby-random', core: 'mruby-random' # mrblib/random.rb wraps Random#initialize
end
