/* Scratch memory for C methods that call back into Ruby.
 *
 * A callback may reach any Ruby object through ObjectSpace and mutate or free
 * it, so a C method must not keep its working data in a Ruby String or Array
 * across a call into Ruby. A scratch block is plain C memory owned by a Data
 * object with no class: ObjectSpace skips classless objects and no Ruby value
 * ever refers to it, so no script can reach it. The GC arena holds the owner
 * until the C method that made it returns (or raises); the GC frees it after. */
#include <string.h>
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/data.h>
#include "kobako.h"

static void
scratch_free(mrb_state *mrb, void *p)
{
  mrb_free(mrb, p);
}

static const mrb_data_type scratch_type = {"kobako scratch", scratch_free};

char *
kobako_scratch_new(mrb_state *mrb, size_t size, struct RData **owner)
{
  struct RData *d = mrb_data_object_alloc(mrb, NULL, NULL, &scratch_type); /* in the arena */
  d->data = mrb_malloc(mrb, size ? size : 1);
  *owner = d;
  return (char *)d->data;
}

char *
kobako_scratch_resize(mrb_state *mrb, struct RData *owner, size_t size)
{
  owner->data = mrb_realloc(mrb, owner->data, size ? size : 1);
  return (char *)owner->data;
}

char *
kobako_scratch_copy(mrb_state *mrb, const char *src, size_t n)
{
  struct RData *owner;
  char *p = kobako_scratch_new(mrb, n + 1, &owner);
  if (n) memcpy(p, src, n);
  p[n] = '\0';
  return p;
}

mrb_value
kobako_hidden_ary(mrb_state *mrb, mrb_int n, const mrb_value *values)
{
  mrb_value a = mrb_ary_new_from_values(mrb, n, values);
  mrb_basic_ptr(a)->c = NULL; /* as mrb_get_args hides its copies: out of ObjectSpace */
  return a;
}

/* Past this a String could not hold the bytes (guest/patches/10 caps them). */
#define SBUF_MAX_BYTES ((size_t)1 << 30)

void
kobako_sbuf_init(mrb_state *mrb, kobako_sbuf *b, size_t cap)
{
  b->ptr = kobako_scratch_new(mrb, cap, &b->owner);
  b->len = 0;
  b->cap = cap ? cap : 1;
}

void
kobako_sbuf_reserve(mrb_state *mrb, kobako_sbuf *b, size_t n)
{
  if (n <= b->cap - b->len) return;
  if (n >= SBUF_MAX_BYTES - b->len) mrb_raise(mrb, E_ARGUMENT_ERROR, "string too long");
  size_t cap = b->cap * 2;
  if (cap < b->len + n) cap = b->len + n;
  if (cap > SBUF_MAX_BYTES) cap = SBUF_MAX_BYTES;
  b->ptr = kobako_scratch_resize(mrb, b->owner, cap);
  b->cap = cap;
}

void
kobako_sbuf_put(mrb_state *mrb, kobako_sbuf *b, const void *src, size_t n)
{
  kobako_sbuf_reserve(mrb, b, n);
  if (n) memcpy(b->ptr + b->len, src, n);
  b->len += n;
}

mrb_value
kobako_sbuf_string(mrb_state *mrb, kobako_sbuf *b)
{
  return mrb_str_new(mrb, b->ptr, (mrb_int)b->len);
}
