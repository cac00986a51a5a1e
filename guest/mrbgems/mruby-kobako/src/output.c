/* Output capture: $stdout and $stderr are Kobako::Output objects whose `write`
 * appends to bounded per-run buffers. Nothing reaches a WASI file descriptor. */
#include <stddef.h>
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/string.h>
#include <mruby/variable.h>
#include "kobako.h"

static kobako_stream streams[2];

/* The host reads both streams straight from linear memory after a trap (a
 * timeout or the fuel running out), when no outcome can be built: this layout
 * is part of the ABI (src/kobako_async/_guest.py, OUTPUT_STATE). */
_Static_assert(sizeof(kobako_stream) == 24 && offsetof(kobako_stream, buf.data) == 0 &&
                   offsetof(kobako_stream, buf.len) == 4 &&
                   offsetof(kobako_stream, truncated) == 20,
               "kobako_stream layout is read by the host");

__attribute__((export_name("kobako_output_state"))) uint32_t
kobako_output_state(void)
{
  return (uint32_t)(uintptr_t)streams;
}

kobako_stream *
kobako_stream_get(int index)
{
  return &streams[index];
}

void
kobako_output_reset(uint32_t stdout_limit, uint32_t stderr_limit)
{
  kobako_buf_free(&streams[0].buf);
  kobako_buf_free(&streams[1].buf);
  streams[0].limit = stdout_limit;
  streams[1].limit = stderr_limit;
  streams[0].truncated = streams[1].truncated = 0;
}

/* Appends what fits under the cap; the rest is dropped and flagged. */
static void
stream_append(kobako_stream *s, const char *p, mrb_int n)
{
  uint32_t room = s->limit > s->buf.len ? s->limit - s->buf.len : 0;
  if ((uint64_t)n > room) {
    s->truncated = 1;
    n = room;
  }
  kobako_buf_put(&s->buf, p, (uint32_t)n);
  if (s->buf.failed) s->truncated = 1;
}

static mrb_value
output_write(mrb_state *mrb, kobako_stream *s)
{
  const mrb_value *argv;
  mrb_int argc, total = 0;

  mrb_get_args(mrb, "*", &argv, &argc);
  /* to_s may run Ruby: argv can point into an Array the script reaches through
   * ObjectSpace (a splatted call), so read the arguments from a hidden copy */
  mrb_value args = kobako_hidden_ary(mrb, argc, argv);
  for (mrb_int i = 0; i < argc; i++) {
    mrb_value str = mrb_obj_as_string(mrb, RARRAY_PTR(args)[i]);
    stream_append(s, RSTRING_PTR(str), RSTRING_LEN(str));
    total += RSTRING_LEN(str);
  }
  return mrb_int_value(mrb, total);
}

static mrb_value
stdout_write(mrb_state *mrb, mrb_value self)
{
  return output_write(mrb, &streams[KOBAKO_STDOUT]);
}

static mrb_value
stderr_write(mrb_state *mrb, mrb_value self)
{
  return output_write(mrb, &streams[KOBAKO_STDERR]);
}

static mrb_value
new_stream(mrb_state *mrb, struct RClass *cls, const char *gvar, const char *konst,
           mrb_func_t write)
{
  mrb_value io = mrb_obj_new(mrb, cls, 0, NULL);
  mrb_define_singleton_method(mrb, mrb_obj_ptr(io), "write", write, MRB_ARGS_ANY());
  mrb_gv_set(mrb, mrb_intern_cstr(mrb, gvar), io);
  mrb_define_global_const(mrb, konst, io);
  return io;
}

void
mrb_mruby_kobako_gem_init(mrb_state *mrb)
{
  struct RClass *kobako = mrb_define_module(mrb, "Kobako");
  struct RClass *output = mrb_define_class_under(mrb, kobako, "Output", mrb->object_class);

  mrb_undef_class_method(mrb, output, "new");
  new_stream(mrb, output, "$stdout", "STDOUT", stdout_write);
  new_stream(mrb, output, "$stderr", "STDERR", stderr_write);
  kobako_services_init(mrb, kobako);
  kobako_random_init(mrb, kobako);
}

void
mrb_mruby_kobako_gem_final(mrb_state *mrb)
{
}
