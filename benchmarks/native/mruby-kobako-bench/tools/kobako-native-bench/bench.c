/* kobako-native-bench: times a Ruby script inside one native mruby process.
 *
 *   kobako-native-bench WARMUP RUNS FILE
 *
 * Every run gets a fresh mrb_state, opened outside the timed region (the guest's
 * is booted at build time and baked in), then compiles and runs FILE the way the
 * guest does: mrb_load_nstring_cxt with a capture_errors context. Each run is
 * timed with CLOCK_MONOTONIC, so process start-up is never counted.
 *
 * Output: "value <inspect of the result>", then "ns <elapsed>" per timed run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <mruby.h>
#include <mruby/compile.h>
#include <mruby/string.h>

static char *
read_all(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  size_t cap = 4096, n = 0, got;
  char *buf = f ? malloc(cap) : NULL;

  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *grown = realloc(buf, cap *= 2);
      if (!grown) free(buf);
      buf = grown;
    }
  }
  if (f) fclose(f);
  *len = n;
  return buf;
}

static int64_t
now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
  size_t len;
  char *src;
  long warmup, runs;

  if (argc != 4) {
    fprintf(stderr, "usage: %s WARMUP RUNS FILE\n", argv[0]);
    return 2;
  }
  warmup = strtol(argv[1], NULL, 10);
  runs = strtol(argv[2], NULL, 10);
  src = read_all(argv[3], &len);
  if (!src) {
    perror(argv[3]);
    return 2;
  }
  for (long i = 0; i < warmup + runs; i++) {
    mrb_state *mrb = mrb_open();
    if (!mrb) {
      fputs("mrb_open failed\n", stderr);
      return 1;
    }
    int64_t started = now_ns();
    mrb_ccontext *cxt = mrb_ccontext_new(mrb);
    mrb_ccontext_filename(mrb, cxt, "(eval)");
    cxt->capture_errors = TRUE;
    mrb_value value = mrb_load_nstring_cxt(mrb, src, len, cxt);
    int64_t elapsed = now_ns() - started;
    if (mrb->exc) {
      mrb_print_error(mrb);
      return 1;
    }
    if (i == 0) {
      mrb_value shown = mrb_inspect(mrb, value);
      printf("value %.*s\n", (int)RSTRING_LEN(shown), RSTRING_PTR(shown));
    }
    if (i >= warmup) printf("ns %lld\n", (long long)elapsed);
    mrb_ccontext_free(mrb, cxt);
    mrb_close(mrb);
  }
  free(src);
  return 0;
}
