# Native mruby for `python -m benchmarks`: the guest's mruby source, built for the
# host with the system gcc, with the guest's value-representation defines and only
# the gems the benchmark scripts need.
#
# benchmarks/native.py runs mruby's own rake with MRUBY_CONFIG pointing here and
# MRUBY_BUILD_DIR under build/native-mruby/.

# Keep benchmarks/ free of a build_config.rb.lock.
MRuby::Lockfile.disable

# The same defines as the guest (MRB_NO_BOXING, MRB_INT64, ...), so that both run
# the same interpreter and differ only in compiler and target.
guest_config = File.read(File.expand_path('../../guest/build_config.rb', __dir__))
guest_defines = guest_config[/^KOBAKO_DEFINES\s*=\s*%w\[([^\]]*)\]/m, 1]
raise 'KOBAKO_DEFINES not found in guest/build_config.rb' unless guest_defines

MRuby::Build.new('host') do |conf|
  conf.toolchain :gcc
  conf.cc.flags = %w[-std=gnu99 -O2 -Wall -Wno-unused]
  conf.cc.defines += guest_defines.split
  conf.gem core: 'mruby-compiler'
  conf.gem File.expand_path('mruby-kobako-bench', __dir__)
end
