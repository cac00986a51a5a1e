/* Seeds for Random.new without an argument.
 *
 * mruby gives every unseeded Random the same fixed state, so without this each
 * run (and each Random.new in a run) would repeat one sequence. Instead the
 * n-th unseeded Random.new of a run is seeded from the run's seed and n: the
 * same in every run with that seed (hermetic), fresh when the host sends fresh
 * entropy as the seed (permissive). mrblib/random.rb routes Random.new here. */
#include <stdint.h>
#include <mruby.h>
#include "kobako.h"

static uint32_t run_seed;
static uint32_t made; /* unseeded Randoms made so far in this run */

/* A 32-bit finalizer (murmur3's fmix32): nearby inputs give unrelated outputs. */
static uint32_t
mix(uint32_t x)
{
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

void
kobako_random_reset(uint32_t seed)
{
  run_seed = seed;
  made = 0;
}

/* Kobako.__random_seed -> the seed for the next unseeded Random.new */
static mrb_value
next_seed(mrb_state *mrb, mrb_value self)
{
  made++;
  return mrb_int_value(mrb, mix(run_seed ^ mix(made)));
}

void
kobako_random_init(mrb_state *mrb, struct RClass *kobako)
{
  mrb_define_module_function(mrb, kobako, "__random_seed", next_seed, MRB_ARGS_NONE());
}
