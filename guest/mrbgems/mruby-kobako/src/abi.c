/* The guest's ABI: the exports the host calls.
 *
 *   kobako_boot()               mrb_open; run once at build time, then baked in
 *   kobako_inbox() -> i64       ptr<<32 | size of a static request buffer, the
 *                               same in every instance; small requests skip alloc
 *   kobako_alloc(n) -> ptr      room for a larger request
 *   kobako_run(ptr, len) -> i64 runs one request; returns outcome ptr<<32 | len
 *   kobako_abi_version() -> i32
 *
 * Request: msgpack [script (bin), stdout_limit, stderr_limit, [bound path...], seed,
 * [input name...], inputs (bin)], the last two optional; inputs holds one msgpack
 * value per name, back to back, each decoded on its own (so each may nest as deep
 * as a Service reply's value) and made a local variable of the top-level script.
 * Fields after these are left for later requests (snippets, an entrypoint): this
 * guest reads only the ones above.
 * Outcome: msgpack [status, body, stdout (bin), stderr (bin), stdout_truncated,
 * stderr_truncated, out_of_memory], where status 0 carries the value and status 1
 * carries [class name, message, backtrace, origin] of the exception that ended
 * the run; origin is nil for an exception the script made, or the number of
 * the Service call whose error reply it was made from (the host looks that
 * call up in its own record, never going by the class name); out_of_memory
 * says an allocation failed (the memory limit was reached).
 * Every instance serves one run, so nothing here is ever freed or reset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/compile.h>
#include <mruby/error.h>
#include <mruby/internal.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include "kobako.h"

/* clang 22 no longer defines the tag that wasm setjmp/longjmp throws. */
__asm__(".globl __c_longjmp\n.tagtype __c_longjmp i32\n__c_longjmp:\n");

#define KOBAKO_ABI_VERSION 4
#define EXPORT(name) __attribute__((export_name(name)))

enum { STATUS_VALUE = 0, STATUS_ERROR = 1 };

static mrb_state *vm;
static uint8_t out_of_memory;

#ifdef KOBAKO_DEBUG_ALLOC
/* The debug guest's allocator (make guest-debug): every block is poisoned when
 * freed and kept in a quarantine before its memory is reused, and realloc always
 * moves, so a pointer kept across a free or a resize reads 0xDB bytes instead of
 * live data, and a write through one is caught as a trap at the end of the run
 * (or when the block leaves the quarantine) with its poison changed. */
#define POISON 0xDB
#define QUARANTINE_BLOCKS 4096
#define QUARANTINE_BYTES (8u << 20)

typedef struct {
  size_t size;
  size_t pad; /* keeps the payload 8-byte aligned */
} block_head;

static struct {
  block_head *blocks[QUARANTINE_BLOCKS];
  uint32_t head, count;
  size_t bytes;
} quarantine;

static void
release_oldest(void)
{
  block_head *b = quarantine.blocks[quarantine.head];
  const uint8_t *payload = (const uint8_t *)(b + 1);
  for (size_t i = 0; i < b->size; i++) {
    if (payload[i] != POISON) __builtin_trap(); /* written after it was freed */
  }
  quarantine.head = (quarantine.head + 1) % QUARANTINE_BLOCKS;
  quarantine.count--;
  quarantine.bytes -= b->size;
  free(b);
}

/* Traps if any quarantined block was written after it was freed: run at the end
 * of every run, so a write through a stale pointer is caught in the run that made it. */
static void
check_quarantine(void)
{
  for (uint32_t k = 0; k < quarantine.count; k++) {
    const block_head *b = quarantine.blocks[(quarantine.head + k) % QUARANTINE_BLOCKS];
    const uint8_t *payload = (const uint8_t *)(b + 1);
    for (size_t i = 0; i < b->size; i++) {
      if (payload[i] != POISON) __builtin_trap();
    }
  }
}

static void
debug_free(void *p)
{
  if (!p) return;
  block_head *b = (block_head *)p - 1;
  memset(p, POISON, b->size);
  while (quarantine.count == QUARANTINE_BLOCKS ||
         (quarantine.count > 0 && quarantine.bytes + b->size > QUARANTINE_BYTES)) {
    release_oldest();
  }
  quarantine.blocks[(quarantine.head + quarantine.count) % QUARANTINE_BLOCKS] = b;
  quarantine.count++;
  quarantine.bytes += b->size;
}

static void *
debug_realloc(void *p, size_t size)
{
  block_head *b = (block_head *)malloc(sizeof(block_head) + size);
  while (!b && quarantine.count > 0) { /* the quarantine gives its memory back first */
    release_oldest();
    b = (block_head *)malloc(sizeof(block_head) + size);
  }
  if (!b) return NULL;
  b->size = size;
  void *q = b + 1;
  memset(q, POISON ^ 0xFF, size); /* fresh memory is never zero by luck */
  if (p) {
    size_t old = ((block_head *)p - 1)->size;
    memcpy(q, p, old < size ? old : size);
    debug_free(p);
  }
  return q;
}
#define ALLOC_FREE(p) debug_free(p)
#define ALLOC_REALLOC(p, n) debug_realloc((p), (n))
#else
#define ALLOC_FREE(p) free(p)
#define ALLOC_REALLOC(p, n) realloc((p), (n))
#endif

/* mruby's allocator, remembering failure: a NoMemoryError from a failed
 * allocation (the host's memory limit) differs from one a script raises. */
static void *
kobako_allocf(mrb_state *mrb, void *p, size_t size, void *ud)
{
  if (size == 0) {
    ALLOC_FREE(p);
    return NULL;
  }
  void *q = ALLOC_REALLOC(p, size);
  if (!q) out_of_memory = 1;
  return q;
}

EXPORT("kobako_boot") int32_t
kobako_boot(void)
{
  vm = mrb_open_allocf(kobako_allocf, NULL);
  if (!vm) return -1;
  mrb_full_gc(vm); /* boot garbage would otherwise be copied into every instance */
  return 0;
}

#define KOBAKO_INBOX_BYTES 16384
static uint8_t inbox[KOBAKO_INBOX_BYTES];

EXPORT("kobako_inbox") uint64_t
kobako_inbox(void)
{
  return ((uint64_t)(uintptr_t)inbox << 32) | KOBAKO_INBOX_BYTES;
}

EXPORT("kobako_alloc") uint32_t
kobako_alloc(uint32_t size)
{
  return (uint32_t)(uintptr_t)malloc(size ? size : 1);
}

EXPORT("kobako_abi_version") int32_t
kobako_abi_version(void)
{
  return KOBAKO_ABI_VERSION;
}

typedef struct {
  const uint8_t *request;
  uint32_t request_len;
  mrb_value value;
  struct RObject *exc; /* the exception that ended the script, if any */
} run_state;

static mrb_value
request_field(mrb_state *mrb, mrb_value req, mrb_int i, enum mrb_vtype type)
{
  mrb_value v = mrb_ary_entry(req, i);
  if (mrb_type(v) != type) mrb_raise(mrb, E_ARGUMENT_ERROR, "malformed run request");
  return v;
}

/* The input values, decoded one by one from ``inputs`` into a new Array (held by
 * the GC arena) with one value per name. */
static mrb_value
decode_inputs(mrb_state *mrb, mrb_value names, mrb_value inputs)
{
  const uint8_t *p = (const uint8_t *)RSTRING_PTR(inputs);
  uint32_t left = (uint32_t)RSTRING_LEN(inputs);
  mrb_int n = RARRAY_LEN(names);
  mrb_value values = mrb_ary_new_capa(mrb, n);
  for (mrb_int i = 0; i < n; i++) {
    kobako_codec_error err;
    mrb_value v;
    uint32_t used;
    int ai = mrb_gc_arena_save(mrb);
    if (kobako_decode(mrb, p, left, &v, &used, &err)) {
      mrb_raise(mrb, E_ARGUMENT_ERROR, "malformed run request");
    }
    mrb_ary_push(mrb, values, v);
    mrb_gc_arena_restore(mrb, ai);
    p += used;
    left -= used;
  }
  if (left) mrb_raise(mrb, E_ARGUMENT_ERROR, "malformed run request");
  return values;
}

/* Compiles ``script`` with ``names`` declared as top-level locals (as mirb keeps
 * its locals: the parser context's syms) and runs it with their values in the
 * top frame's stack slots 1..n. A method the script defines opens its own scope,
 * so it does not see them. Returns the script's value; on an error mrb->exc. */
static mrb_value
run_with_inputs(mrb_state *mrb, mrb_value script, mrb_value names, mrb_value inputs)
{
  mrb_int n = RARRAY_LEN(names);
  /* a scope holds at most 255 locals (codegen's limit); the host sends at most 200 */
  if (n > 255) mrb_raise(mrb, E_ARGUMENT_ERROR, "malformed run request");
  mrb_value values = decode_inputs(mrb, names, inputs);
  mrb_ccontext *cxt = mrb_ccontext_new(mrb);
  mrb_ccontext_filename(mrb, cxt, "(eval)");
  cxt->capture_errors = TRUE;
  cxt->no_exec = TRUE;
  if (n > 0) {
    cxt->syms = (mrb_sym *)mrb_malloc(mrb, sizeof(mrb_sym) * n);
    for (mrb_int i = 0; i < n; i++) {
      cxt->syms[i] = mrb_intern_str(mrb, request_field(mrb, names, i, MRB_TT_STRING));
    }
    cxt->slen = (uint16_t)n;
  }
  mrb_value proc = mrb_load_nstring_cxt(mrb, RSTRING_PTR(script), RSTRING_LEN(script), cxt);
  if (mrb->exc || !mrb_proc_p(proc)) return mrb_nil_value();
  struct RProc *p = mrb_proc_ptr(proc);
  MRB_PROC_SET_TARGET_CLASS(p, mrb->object_class);
  if (mrb->c->ci) mrb_vm_ci_target_class_set(mrb->c->ci, mrb->object_class);
  /* extend first: a GC clears the stack above the frame's registers, so nothing
   * may allocate between filling the slots and running */
  mrb_int nregs = p->body.irep->nregs;
  mrb_stack_extend(mrb, (nregs > n + 1 ? nregs : n + 1) + 1);
  if (!mrb->c->ci->stack) mrb_raise(mrb, E_RUNTIME_ERROR, "no VM stack");
  for (mrb_int i = 0; i < n; i++) mrb->c->ci->stack[i + 1] = RARRAY_PTR(values)[i];
  return mrb_top_run(mrb, p, mrb_top_self(mrb), n + 1);
}

/* Runs inside mrb_protect_error: anything raised outside the VM lands there.
 * Returns the value or exception, so that mrb_protect_error keeps it in the GC
 * arena: nothing else refers to an exception the VM has handed back, and
 * describing it allocates (a deep backtrace a lot), which may collect it. */
static mrb_value
run_script(mrb_state *mrb, void *userdata)
{
  run_state *st = (run_state *)userdata;
  kobako_codec_error err;
  mrb_value req;
  uint32_t used;

  if (kobako_decode(mrb, st->request, st->request_len, &req, &used, &err) ||
      !mrb_array_p(req) || RARRAY_LEN(req) < 5) {
    mrb_raise(mrb, E_ARGUMENT_ERROR, "malformed run request");
  }
  mrb_value script = request_field(mrb, req, 0, MRB_TT_STRING);
  mrb_value out_limit = request_field(mrb, req, 1, MRB_TT_INTEGER);
  mrb_value err_limit = request_field(mrb, req, 2, MRB_TT_INTEGER);
  mrb_value paths = request_field(mrb, req, 3, MRB_TT_ARRAY);
  mrb_value seed = request_field(mrb, req, 4, MRB_TT_INTEGER);
  mrb_funcall(mrb, mrb_obj_value(mrb_class_get(mrb, "Random")), "srand", 1, seed);
  kobako_random_reset((uint32_t)mrb_integer(seed));
  kobako_output_reset((uint32_t)mrb_integer(out_limit), (uint32_t)mrb_integer(err_limit));
  for (mrb_int i = 0; i < RARRAY_LEN(paths); i++) {
    kobako_bind_path(mrb, request_field(mrb, paths, i, MRB_TT_STRING));
  }

  mrb_value names = mrb_ary_new(mrb), inputs = mrb_str_new(mrb, NULL, 0);
  if (RARRAY_LEN(req) >= 7) {
    names = request_field(mrb, req, 5, MRB_TT_ARRAY);
    inputs = request_field(mrb, req, 6, MRB_TT_STRING);
  }
  st->value = run_with_inputs(mrb, script, names, inputs);
  if (mrb->exc) {
    st->exc = mrb->exc;
    mrb->exc = NULL;
    return mrb_obj_value(st->exc);
  }
  return st->value;
}

static mrb_value
call_message(mrb_state *mrb, void *userdata)
{
  return mrb_funcall(mrb, *(mrb_value *)userdata, "message", 0);
}

/* [class name, message, backtrace, origin]. The message comes from the
 * exception's own #message, which the script may have redefined: a failure
 * there falls back to the class name. */
static mrb_value
describe_exception(mrb_state *mrb, mrb_value exc)
{
  mrb_bool failed = FALSE;
  mrb_value klass = mrb_str_new_cstr(mrb, mrb_obj_classname(mrb, exc));
  mrb_value message = mrb_protect_error(mrb, call_message, &exc, &failed);
  if (failed || !mrb_string_p(message)) message = klass;
  mrb_value backtrace = mrb_exc_backtrace(mrb, exc);
  if (!mrb_array_p(backtrace)) backtrace = mrb_ary_new(mrb);
  int64_t call = kobako_exception_origin(mrb, exc);
  mrb_value origin = call < 0 ? mrb_nil_value() : mrb_int_value(mrb, call);
  mrb_value parts[4] = {klass, message, backtrace, origin};
  return mrb_ary_new_from_values(mrb, 4, parts);
}

static mrb_value
codec_error_body(mrb_state *mrb, const kobako_codec_error *err)
{
  mrb_value parts[4] = {mrb_str_new_cstr(mrb, err->klass), mrb_str_new_cstr(mrb, err->message),
                        mrb_ary_new(mrb), mrb_nil_value()};
  return mrb_ary_new_from_values(mrb, 4, parts);
}

static void
put_stream(kobako_buf *out, int index)
{
  kobako_stream *s = kobako_stream_get(index);
  uint32_t n = s->buf.len;
  uint8_t head[5] = {0xc6, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  kobako_buf_put(out, head, sizeof(head));
  kobako_buf_put(out, s->buf.data, n);
}

typedef struct {
  run_state *st;
  kobako_buf *out;
} outcome_args;

static mrb_value
encode_outcome(mrb_state *mrb, void *userdata)
{
  outcome_args *a = (outcome_args *)userdata;
  kobako_codec_error err;
  kobako_buf *out = a->out;
  uint32_t mark = out->len;

  kobako_buf_byte(out, 0x97);
  if (a->st->exc) {
    kobako_buf_byte(out, STATUS_ERROR);
    if (kobako_encode(mrb, out, describe_exception(mrb, mrb_obj_value(a->st->exc)), &err)) {
      mrb_raise(mrb, E_RUNTIME_ERROR, err.message);
    }
  }
  else {
    kobako_buf_byte(out, STATUS_VALUE);
    if (kobako_encode(mrb, out, a->st->value, &err)) {
      /* the value has no wire form: report that instead, as an error */
      out->len = mark + 1;
      kobako_buf_byte(out, STATUS_ERROR);
      kobako_encode(mrb, out, codec_error_body(mrb, &err), &err);
    }
  }
  return mrb_nil_value();
}

/* The body for when describing the outcome itself raised (out of memory, most
 * likely): written byte by byte, with no Ruby allocation. */
static void
put_fallback_error(kobako_buf *out)
{
  static const char klass[] = "NoMemoryError";
  static const char message[] = "failed to encode the run's outcome";
  kobako_buf_byte(out, 0x97);
  kobako_buf_byte(out, STATUS_ERROR);
  kobako_buf_byte(out, 0x94);
  kobako_buf_byte(out, 0xa0 | (sizeof(klass) - 1));
  kobako_buf_put(out, klass, sizeof(klass) - 1);
  kobako_buf_byte(out, 0xd9);
  kobako_buf_byte(out, sizeof(message) - 1);
  kobako_buf_put(out, message, sizeof(message) - 1);
  kobako_buf_byte(out, 0x90);
  kobako_buf_byte(out, 0xc0);
}

static uint64_t
pack_result(kobako_buf *b)
{
  if (b->failed) return 0; /* the host reads an empty outcome as out of memory */
  return ((uint64_t)(uintptr_t)b->data << 32) | b->len;
}

EXPORT("kobako_run") uint64_t
kobako_run(uint32_t request, uint32_t request_len)
{
  run_state st = {(const uint8_t *)(uintptr_t)request, request_len, mrb_nil_value(), NULL};
  mrb_bool failed = FALSE;
  kobako_buf out = {0};

  /* the value or exception that ended the run; the GC arena holds it from here */
  mrb_value ended = mrb_protect_error(vm, run_script, &st, &failed);
  if (failed) st.exc = mrb_obj_ptr(ended);

  outcome_args args = {&st, &out};
  mrb_protect_error(vm, encode_outcome, &args, &failed);
  if (failed || out.failed) {
    if (out.failed) out_of_memory = 1;
    out.len = 0;
    out.failed = 0;
    put_fallback_error(&out);
  }
  put_stream(&out, KOBAKO_STDOUT);
  put_stream(&out, KOBAKO_STDERR);
  kobako_buf_byte(&out, kobako_stream_get(KOBAKO_STDOUT)->truncated ? 0xc3 : 0xc2);
  kobako_buf_byte(&out, kobako_stream_get(KOBAKO_STDERR)->truncated ? 0xc3 : 0xc2);
  kobako_buf_byte(&out, out_of_memory ? 0xc3 : 0xc2);
#ifdef KOBAKO_DEBUG_ALLOC
  check_quarantine();
#endif
  return pack_result(&out);
}
