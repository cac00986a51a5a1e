# mruby build configuration for the kobako guest.
#
# guest/build.py runs mruby's rake with MRUBY_CONFIG pointing here and with
# KOBAKO_CC / KOBAKO_AR naming wrapper scripts around zig (PyPI `ziglang`).

GUEST_DIR = File.expand_path(__dir__)

# Every translation unit must use the same setjmp/longjmp lowering: mruby raises
# Ruby exceptions with longjmp, which on wasm needs the exception-handling proposal.
# No bulk memory: memset/memcpy are the gem's chunked loops (mruby-kobako/src/mem.c),
# where the epoch (the timeout) is checked, not one instruction that may first-touch
# a GiB for seconds.
KOBAKO_EH_FLAGS = %w[-mllvm -wasm-enable-sjlj -mllvm -wasm-use-legacy-eh=false -mexception-handling
                     -mno-bulk-memory -mno-bulk-memory-opt]

# Fidelity with CRuby: character-counting strings and 64-bit integers.
# Size caps: on wasm32 a String's or Array's length and capacity are 32-bit (and
# size_t is), so a length from a 64-bit Integer must be refused before it wraps.
# Strings stop at 1 GiB and Arrays at 2**27 elements (1 GiB of values), both far
# below 2**31; past them mruby raises ArgumentError ("string too long", "array
# size too big"), and below them the memory limit applies (MemoryLimitError).
KOBAKO_DEFINES = %w[MRB_UTF8_STRING MRB_INT64 MRB_NAN_BOXING MRB_CALL_LEVEL_MAX=10000
                    MRB_ARY_NO_EMBED MRB_STR_LENGTH_MAX=1073741824 MRB_ARY_LENGTH_MAX=134217728]

# Pure gems only: nothing that reaches files, sockets, processes, sleep or exit.
KOBAKO_GEMS = %w[
  mruby-compiler mruby-error mruby-eval mruby-metaprog mruby-method mruby-binding
  mruby-proc-binding mruby-array-ext mruby-hash-ext mruby-string-ext mruby-symbol-ext
  mruby-numeric-ext mruby-object-ext mruby-kernel-ext mruby-class-ext mruby-compar-ext
  mruby-proc-ext mruby-range-ext mruby-toplevel-ext mruby-enum-ext mruby-enumerator
  mruby-enum-lazy mruby-enum-chain mruby-fiber mruby-catch mruby-struct mruby-data
  mruby-sprintf mruby-pack mruby-math mruby-cmath mruby-rational mruby-complex
  mruby-bigint mruby-set mruby-objectspace mruby-os-memsize mruby-random mruby-time
]

MRuby::Build.new('host') do |conf|
  conf.toolchain :gcc
  conf.gem core: 'mruby-bin-mrbc'
end

MRuby::CrossBuild.new('wasi') do |conf|
  conf.toolchain :clang

  conf.cc do |cc|
    cc.command = ENV.fetch('KOBAKO_CC')
    cc.flags = %w[-std=gnu99 -O2 -Wall -Wno-unused -target wasm32-wasi] + KOBAKO_EH_FLAGS
    cc.defines += KOBAKO_DEFINES
    # make guest-debug: freed memory poisoned and quarantined (mruby-kobako/src/abi.c)
    cc.defines << 'KOBAKO_DEBUG_ALLOC' unless ENV['KOBAKO_DEBUG'].to_s.empty?
  end
  conf.linker.command = ENV.fetch('KOBAKO_CC')
  conf.archiver.command = ENV.fetch('KOBAKO_AR')

  KOBAKO_GEMS.each { |name| conf.gem core: name }
  conf.gem "#{GUEST_DIR}/mrbgems/mruby-kobako"
  conf.gem "#{GUEST_DIR}/mrbgems/mruby-kobako-compat"
  conf.gem "#{GUEST_DIR}/mrbgems/mruby-kobako-regexp"
  conf.gem "#{GUEST_DIR}/mrbgems/mruby-kobako-json"
  conf.gem "#{GUEST_DIR}/mrbgems/mruby-kobako-lang"

end
