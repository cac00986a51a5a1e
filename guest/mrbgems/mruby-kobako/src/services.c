/* Service proxies and capability Handles: the script's only door to the host.
 *
 * A bound path ("KV::Lookup") becomes modules for its prefixes and a
 * Kobako::Service constant for its leaf; a host object with no wire form
 * arrives as a Kobako::Handle. Both are C data objects (the script cannot
 * create, copy or edit them) whose method calls all go to Kobako.__call, which
 * sends [target, method, args, kwargs] to the host through the kobako.dispatch
 * import and returns the reply or raises the error it carries. */
#include <stdlib.h>
#include <string.h>
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>
#include "kobako.h"

/* Host imports. The reply is written to out when it fits in out_cap bytes;
 * otherwise take_reply copies it into a buffer of the returned size. */
__attribute__((import_module("kobako"), import_name("dispatch"))) int64_t
kobako_host_dispatch(const uint8_t *call, uint32_t call_len, uint8_t *out, uint32_t out_cap);
__attribute__((import_module("kobako"), import_name("take_reply"))) void
kobako_host_take_reply(uint8_t *out);

#define REPLY_INLINE_BYTES 4096

enum { REPLY_VALUE = 0, REPLY_ERROR = 1 };

typedef struct {
  char *path;      /* bound path, for a Service */
  uint32_t handle; /* host table id, for a Handle */
} proxy_data;

static void
proxy_free(mrb_state *mrb, void *p)
{
  proxy_data *d = (proxy_data *)p;
  if (d) mrb_free(mrb, d->path);
  mrb_free(mrb, d);
}

static const mrb_data_type proxy_type = {"Kobako::Proxy", proxy_free};
static struct RClass *service_class, *handle_class;

static mrb_value
proxy_new(mrb_state *mrb, struct RClass *cls, const char *path, uint32_t handle)
{
  proxy_data *d = (proxy_data *)mrb_malloc(mrb, sizeof(proxy_data));
  d->path = NULL;
  d->handle = handle;
  struct RData *obj = mrb_data_object_alloc(mrb, cls, d, &proxy_type);
  if (path) {
    size_t n = strlen(path);
    d->path = (char *)mrb_malloc(mrb, n + 1);
    memcpy(d->path, path, n + 1);
  }
  return mrb_obj_value(obj);
}

mrb_value
kobako_handle_new(mrb_state *mrb, uint32_t id)
{
  return proxy_new(mrb, handle_class, NULL, id);
}

int
kobako_handle_id(mrb_state *mrb, mrb_value v, uint32_t *id)
{
  if (mrb_type(v) != MRB_TT_CDATA || DATA_TYPE(v) != &proxy_type) return 0;
  proxy_data *d = (proxy_data *)DATA_PTR(v);
  if (!d || d->path) return 0;
  *id = d->handle;
  return 1;
}

/* The symbol of path's bytes [from, to). */
static mrb_sym
path_segment(mrb_state *mrb, mrb_value path, mrb_int from, mrb_int to)
{
  return mrb_intern(mrb, RSTRING_PTR(path) + from, (size_t)(to - from));
}

/* Defines the modules of "A::B::C" and sets C to a Service proxy. The path's
 * bytes are only read, by offset: a String's buffer may be shared with others
 * (mrb_str_dup shares past the embed size), so C code never writes into one. */
void
kobako_bind_path(mrb_state *mrb, mrb_value path)
{
  struct RClass *outer = mrb->object_class;
  mrb_int len = RSTRING_LEN(path), seg = 0;
  for (mrb_int i = 0; i + 1 < len; i++) {
    if (RSTRING_PTR(path)[i] != ':' || RSTRING_PTR(path)[i + 1] != ':') continue;
    mrb_sym name = path_segment(mrb, path, seg, i);
    if (mrb_const_defined_at(mrb, mrb_obj_value(outer), name)) {
      mrb_value c = mrb_const_get(mrb, mrb_obj_value(outer), name);
      if (!mrb_class_p(c) && !mrb_module_p(c)) {
        mrb_raisef(mrb, E_TYPE_ERROR, "cannot bind under %n: not a module", name);
      }
      outer = mrb_class_ptr(c);
    }
    else {
      outer = mrb_define_module_under_id(mrb, outer, name);
    }
    seg = i + 2;
    i++;
  }
  mrb_value proxy = proxy_new(mrb, service_class, RSTRING_CSTR(mrb, path), 0);
  mrb_const_set(mrb, mrb_obj_value(outer), path_segment(mrb, path, seg, len), proxy);
}

/* Service calls this run has made; the host counts the same calls. */
static uint32_t calls_made;

/* The mark on an exception made from a host error reply, out of the script's
 * reach: a header flag that no Ruby operation sets, copies (dup, clone and
 * exception("x") copy only the frozen bit) or clears, and, outside the Ruby
 * heap, the number of the call the reply answered. A freed exception's slot
 * is reborn with its flags cleared, so a stale entry never marks another
 * object; the latest entry for an address is the live one's. The host decides
 * what the reply was from its own record of that call, never from the mark. */
#define EXC_FROM_HOST_FLAG (1 << 17)

typedef struct {
  const struct RBasic *exc;
  uint32_t call;
} origin_entry;

static origin_entry *origins; /* every instance starts with none: one run each */
static uint32_t origins_len, origins_cap;

static void
mark_origin(mrb_state *mrb, mrb_value exc, uint32_t call)
{
  if (origins_len == origins_cap) {
    uint32_t cap = origins_cap ? origins_cap * 2 : 16;
    origin_entry *grown = (origin_entry *)realloc(origins, cap * sizeof(origin_entry));
    if (!grown) mrb_exc_raise(mrb, mrb_obj_value(mrb->nomem_err));
    origins = grown;
    origins_cap = cap;
  }
  origins[origins_len].exc = mrb_basic_ptr(exc);
  origins[origins_len].call = call;
  origins_len++;
  mrb_basic_ptr(exc)->flags |= EXC_FROM_HOST_FLAG;
}

int64_t
kobako_exception_origin(mrb_state *mrb, mrb_value exc)
{
  (void)mrb;
  if (!mrb_exception_p(exc) || !(mrb_basic_ptr(exc)->flags & EXC_FROM_HOST_FLAG)) return -1;
  for (uint32_t i = origins_len; i-- > 0;) {
    if (origins[i].exc == mrb_basic_ptr(exc)) return origins[i].call;
  }
  return -1;
}

static mrb_bool
exception_class_p(mrb_state *mrb, mrb_value c)
{
  if (!mrb_class_p(c)) return FALSE;
  for (struct RClass *k = mrb_class_ptr(c); k; k = k->super) {
    if (k == E_EXCEPTION) return TRUE;
  }
  return FALSE;
}

/* The class for a reply's error: Kobako::X (or ArgumentError) as the script has
 * left it, else StandardError. The host goes by the mark, not by this class. */
static struct RClass *
reply_class(mrb_state *mrb, const char *name)
{
  mrb_value object = mrb_obj_value(mrb->object_class);
  mrb_value c = mrb_nil_value();
  if (strncmp(name, "Kobako::", 8) == 0) {
    mrb_sym kobako = mrb_intern_lit(mrb, "Kobako");
    if (mrb_const_defined_at(mrb, object, kobako)) {
      mrb_value outer = mrb_const_get(mrb, object, kobako);
      mrb_sym inner = mrb_intern_cstr(mrb, name + 8);
      if ((mrb_class_p(outer) || mrb_module_p(outer)) && mrb_const_defined_at(mrb, outer, inner)) {
        c = mrb_const_get(mrb, outer, inner);
      }
    }
  }
  else if (strcmp(name, "ArgumentError") == 0) {
    c = mrb_obj_value(E_ARGUMENT_ERROR);
  }
  return exception_class_p(mrb, c) ? mrb_class_ptr(c) : E_STANDARD_ERROR;
}

static void
raise_reply_error(mrb_state *mrb, mrb_value body)
{
  if (!mrb_array_p(body) || RARRAY_LEN(body) != 2 || !mrb_string_p(RARRAY_PTR(body)[0]) ||
      !mrb_string_p(RARRAY_PTR(body)[1])) {
    mrb_raise(mrb, E_RUNTIME_ERROR, "malformed service reply");
  }
  struct RClass *cls = reply_class(mrb, RSTRING_CSTR(mrb, mrb_str_dup(mrb, RARRAY_PTR(body)[0])));
  mrb_value exc = mrb_exc_new_str(mrb, cls, RARRAY_PTR(body)[1]);
  mark_origin(mrb, exc, calls_made);
  mrb_exc_raise(mrb, exc);
}

/* Kobako.__call(target, name, args, kwargs) */
static mrb_value
kobako_call(mrb_state *mrb, mrb_value self)
{
  mrb_value target, args, kwargs;
  mrb_sym name;
  kobako_codec_error err;
  kobako_buf call = {0};

  mrb_get_args(mrb, "onAH", &target, &name, &args, &kwargs);
  proxy_data *d = (proxy_data *)mrb_data_check_get_ptr(mrb, target, &proxy_type);
  if (!d) mrb_raise(mrb, E_TYPE_ERROR, "not a Kobako::Service or Kobako::Handle");

  kobako_buf_byte(&call, 0x94);
  mrb_value target_ref = d->path ? mrb_str_new_cstr(mrb, d->path) : target;
  mrb_value parts[3] = {mrb_sym_str(mrb, name), args, kwargs};
  if (kobako_encode(mrb, &call, target_ref, &err) || kobako_encode(mrb, &call, parts[0], &err) ||
      kobako_encode(mrb, &call, parts[1], &err) || kobako_encode(mrb, &call, parts[2], &err)) {
    kobako_buf_free(&call);
    mrb_raisef(mrb, mrb_class_get(mrb, err.klass), "service argument: %s", err.message);
  }

  uint8_t inline_reply[REPLY_INLINE_BYTES];
  calls_made++;
  int64_t n = kobako_host_dispatch(call.data, call.len, inline_reply, sizeof(inline_reply));
  kobako_buf_free(&call);
  if (n < 0) mrb_raise(mrb, E_RUNTIME_ERROR, "service call refused by the host");
  uint8_t *reply = inline_reply;
  if (n > REPLY_INLINE_BYTES) {
    reply = (uint8_t *)malloc((size_t)n);
    if (!reply) mrb_exc_raise(mrb, mrb_obj_value(mrb->nomem_err));
    kobako_host_take_reply(reply);
  }

  mrb_value decoded;
  uint32_t used;
  int bad = kobako_decode(mrb, reply, (uint32_t)n, &decoded, &used, &err);
  if (reply != inline_reply) free(reply);
  if (bad || used != (uint32_t)n || !mrb_array_p(decoded) || RARRAY_LEN(decoded) != 2) {
    mrb_raise(mrb, E_RUNTIME_ERROR, "malformed service reply");
  }
  mrb_value status = RARRAY_PTR(decoded)[0], body = RARRAY_PTR(decoded)[1];
  if (mrb_integer_p(status) && mrb_integer(status) == REPLY_VALUE) return body;
  raise_reply_error(mrb, body);
  return mrb_nil_value(); /* not reached */
}

/* Kobako.__describe(proxy) -> "KV::Lookup" or "#3", for inspect */
static mrb_value
kobako_describe(mrb_state *mrb, mrb_value self)
{
  mrb_value target = mrb_get_arg1(mrb);
  proxy_data *d = (proxy_data *)mrb_data_check_get_ptr(mrb, target, &proxy_type);
  if (!d) mrb_raise(mrb, E_TYPE_ERROR, "not a Kobako::Service or Kobako::Handle");
  if (d->path) return mrb_str_new_cstr(mrb, d->path);
  return mrb_format(mrb, "#%d", (int)d->handle);
}

void
kobako_services_init(mrb_state *mrb, struct RClass *kobako)
{
  struct RClass *proxy = mrb_define_class_under(mrb, kobako, "Proxy", mrb_class_get(mrb, "BasicObject"));
  MRB_SET_INSTANCE_TT(proxy, MRB_TT_CDATA);
  service_class = mrb_define_class_under(mrb, kobako, "Service", proxy);
  handle_class = mrb_define_class_under(mrb, kobako, "Handle", proxy);
  mrb_undef_class_method(mrb, proxy, "new");
  mrb_undef_class_method(mrb, proxy, "allocate");
  mrb_define_module_function(mrb, kobako, "__call", kobako_call, MRB_ARGS_REQ(4));
  mrb_define_module_function(mrb, kobako, "__describe", kobako_describe, MRB_ARGS_REQ(1));
}
