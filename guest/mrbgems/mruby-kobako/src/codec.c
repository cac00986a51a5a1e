/* The msgpack value codec shared with the host (src/kobako_async/_codec.py).
 *
 * nil/true/false, Integer (int64 inline, larger as ext BIGINT in base 16),
 * Float (float64), String (str when valid UTF-8, else bin), Symbol (ext
 * SYMBOL), Array, Hash and Kobako::Handle (ext HANDLE, a host table id).
 * Anything else has no wire form. Encoding runs no
 * Ruby code, so a script cannot intercept it; decoding trusts no length.
 *
 * Depth: every value (a run's value, one Service argument, a Service reply) may
 * nest KOBAKO_MAX_DEPTH containers. Each encode or decode call here allows one
 * level more, for the wrapper around such values (a call's args Array and
 * kwargs Hash, a reply's or request's envelope); the host checks the exact rule
 * on what it receives (src/kobako_async/_codec.py). */
#include <stdio.h>
#include <string.h>
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/internal.h>
#include "kobako.h"

int
kobako_utf8_valid(const uint8_t *s, uint32_t n)
{
  uint32_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    uint32_t need, cp, min;
    if (c < 0x80) {
      /* ASCII runs a word at a time: every loop turn also pays an epoch check */
      uint64_t word;
      while (n - i >= 8 && (memcpy(&word, s + i, 8), !(word & 0x8080808080808080ULL))) i += 8;
      if (i < n && s[i] < 0x80) i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (n - i <= need) return 0;
    for (uint32_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += need + 1;
  }
  return 1;
}

/* Containers one encode or decode call may nest: a value's own levels plus
 * its wrapper's. */
#define CODEC_MAX_LEVELS (KOBAKO_MAX_DEPTH + 1)

/* ---- encoder ---- */

typedef struct {
  mrb_state *mrb;
  kobako_buf *out;
  kobako_codec_error *err;
  const void *path[CODEC_MAX_LEVELS]; /* containers being encoded, for cycles */
  int depth;
} encoder;

static void
put_be(kobako_buf *b, uint8_t tag, uint64_t v, int nbytes)
{
  uint8_t tmp[9];
  tmp[0] = tag;
  for (int i = 0; i < nbytes; i++) tmp[1 + i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
  kobako_buf_put(b, tmp, (uint32_t)nbytes + 1);
}

static void
put_int(kobako_buf *b, int64_t v)
{
  if (v >= 0 && v <= 0x7f) kobako_buf_byte(b, (uint8_t)v);
  else if (v < 0 && v >= -32) kobako_buf_byte(b, (uint8_t)(int8_t)v);
  else if (v >= INT8_MIN && v <= INT8_MAX) put_be(b, 0xd0, (uint8_t)v, 1);
  else if (v >= INT16_MIN && v <= INT16_MAX) put_be(b, 0xd1, (uint16_t)v, 2);
  else if (v >= INT32_MIN && v <= INT32_MAX) put_be(b, 0xd2, (uint32_t)v, 4);
  else put_be(b, 0xd3, (uint64_t)v, 8);
}

/* Header for str/bin/array/map/ext, choosing the shortest form; fix == 0 means
 * the type has no fixed-size form. */
static void
put_len(kobako_buf *b, uint8_t fix, uint32_t fixmax, uint8_t t8, uint8_t t16, uint8_t t32,
        uint32_t n)
{
  if (fix && n <= fixmax) kobako_buf_byte(b, (uint8_t)(fix | n));
  else if (t8 && n <= 0xff) put_be(b, t8, n, 1);
  else if (n <= 0xffff) put_be(b, t16, n, 2);
  else put_be(b, t32, n, 4);
}

static void
put_ext(kobako_buf *b, uint8_t type, const char *p, uint32_t n)
{
  switch (n) {
  case 1: kobako_buf_byte(b, 0xd4); break;
  case 2: kobako_buf_byte(b, 0xd5); break;
  case 4: kobako_buf_byte(b, 0xd6); break;
  case 8: kobako_buf_byte(b, 0xd7); break;
  case 16: kobako_buf_byte(b, 0xd8); break;
  default: put_len(b, 0, 0, 0xc7, 0xc8, 0xc9, n); break;
  }
  kobako_buf_byte(b, type);
  kobako_buf_put(b, p, n);
}

static int
enc_fail(encoder *e, const char *klass, const char *fmt, const char *arg)
{
  e->err->klass = klass;
  snprintf(e->err->message, sizeof(e->err->message), fmt, arg);
  return -1;
}

static int enc_value(encoder *e, mrb_value v);

static int
enc_hash_pair(mrb_state *mrb, mrb_value key, mrb_value val, void *data)
{
  encoder *e = (encoder *)data;
  if (enc_value(e, key) || enc_value(e, val)) return 1; /* stops the iteration */
  return 0;
}

static int
enc_enter(encoder *e, const void *container)
{
  for (int i = 0; i < e->depth; i++) {
    if (e->path[i] == container) {
      return enc_fail(e, "ArgumentError", "cyclic structure has no wire form%s", "");
    }
  }
  if (e->depth >= CODEC_MAX_LEVELS) {
    return enc_fail(e, "ArgumentError", "value nested deeper than 128 levels%s", "");
  }
  e->path[e->depth++] = container;
  return 0;
}

static int
enc_value(encoder *e, mrb_value v)
{
  kobako_buf *b = e->out;
  mrb_state *mrb = e->mrb;

  switch (mrb_type(v)) {
  case MRB_TT_FALSE:
    kobako_buf_byte(b, mrb_nil_p(v) ? 0xc0 : 0xc2);
    return 0;
  case MRB_TT_TRUE:
    kobako_buf_byte(b, 0xc3);
    return 0;
  case MRB_TT_INTEGER:
    put_int(b, mrb_integer(v));
    return 0;
  case MRB_TT_BIGINT: {
    mrb_value hex = mrb_bint_to_s(mrb, v, 16);
    put_ext(b, KOBAKO_EXT_BIGINT, RSTRING_PTR(hex), (uint32_t)RSTRING_LEN(hex));
    return 0;
  }
  case MRB_TT_FLOAT: {
    union { double d; uint64_t u; } f;
    f.d = mrb_float(v);
    put_be(b, 0xcb, f.u, 8);
    return 0;
  }
  case MRB_TT_STRING: {
    const uint8_t *p = (const uint8_t *)RSTRING_PTR(v);
    uint32_t n = (uint32_t)RSTRING_LEN(v);
    if (kobako_utf8_valid(p, n)) put_len(b, 0xa0, 31, 0xd9, 0xda, 0xdb, n);
    else put_len(b, 0, 0, 0xc4, 0xc5, 0xc6, n);
    kobako_buf_put(b, p, n);
    return 0;
  }
  case MRB_TT_SYMBOL: {
    mrb_int n;
    const char *p = mrb_sym_name_len(mrb, mrb_symbol(v), &n);
    if (!kobako_utf8_valid((const uint8_t *)p, (uint32_t)n)) {
      return enc_fail(e, "EncodingError", "Symbol with invalid UTF-8 has no wire form%s", "");
    }
    put_ext(b, KOBAKO_EXT_SYMBOL, p, (uint32_t)n);
    return 0;
  }
  case MRB_TT_ARRAY: {
    if (enc_enter(e, mrb_ptr(v))) return -1;
    mrb_int n = RARRAY_LEN(v);
    put_len(b, 0x90, 15, 0, 0xdc, 0xdd, (uint32_t)n);
    for (mrb_int i = 0; i < n && i < RARRAY_LEN(v); i++) {
      if (enc_value(e, RARRAY_PTR(v)[i])) return -1;
    }
    e->depth--;
    return 0;
  }
  case MRB_TT_HASH: {
    if (enc_enter(e, mrb_ptr(v))) return -1;
    put_len(b, 0x80, 15, 0, 0xde, 0xdf, (uint32_t)mrb_hash_size(mrb, v));
    e->err->klass = NULL;
    mrb_hash_foreach(mrb, mrb_hash_ptr(v), enc_hash_pair, e);
    if (e->err->klass) return -1;
    e->depth--;
    return 0;
  }
  case MRB_TT_CDATA: {
    uint32_t id;
    if (kobako_handle_id(mrb, v, &id)) {
      char be[4] = {(char)(id >> 24), (char)(id >> 16), (char)(id >> 8), (char)id};
      put_ext(b, KOBAKO_EXT_HANDLE, be, 4);
      return 0;
    }
  }
  /* fall through */
  default:
    return enc_fail(e, "TypeError", "%s has no wire form", mrb_obj_classname(mrb, v));
  }
}

int
kobako_encode(mrb_state *mrb, kobako_buf *out, mrb_value v, kobako_codec_error *err)
{
  encoder e;
  e.mrb = mrb;
  e.out = out;
  e.err = err;
  e.depth = 0;
  err->klass = NULL;
  if (enc_value(&e, v)) return -1;
  if (out->failed) {
    err->klass = "NoMemoryError";
    snprintf(err->message, sizeof(err->message), "out of memory while encoding a value");
    return -1;
  }
  return 0;
}

/* ---- decoder ---- */

typedef struct {
  mrb_state *mrb;
  const uint8_t *p, *end;
  kobako_codec_error *err;
} decoder;

static int
dec_fail(decoder *d, const char *msg)
{
  d->err->klass = "ArgumentError";
  snprintf(d->err->message, sizeof(d->err->message), "malformed value: %s", msg);
  return -1;
}

static int
take(decoder *d, uint32_t n, const uint8_t **out)
{
  if ((uint64_t)(d->end - d->p) < n) return dec_fail(d, "truncated");
  *out = d->p;
  d->p += n;
  return 0;
}

static int
take_be(decoder *d, int nbytes, uint64_t *out)
{
  const uint8_t *q;
  if (take(d, (uint32_t)nbytes, &q)) return -1;
  uint64_t v = 0;
  for (int i = 0; i < nbytes; i++) v = (v << 8) | q[i];
  *out = v;
  return 0;
}

static int dec_value(decoder *d, mrb_value *out, int depth);

static int
dec_str(decoder *d, uint32_t n, mrb_value *out)
{
  const uint8_t *q;
  if (take(d, n, &q)) return -1;
  *out = mrb_str_new(d->mrb, (const char *)q, n);
  return 0;
}

/* depth counts the containers around this one */
static int
dec_enter(decoder *d, int depth)
{
  if (depth < CODEC_MAX_LEVELS) return 0;
  d->err->klass = "ArgumentError";
  snprintf(d->err->message, sizeof(d->err->message), "value nested deeper than 128 levels");
  return -1;
}

static int
dec_array(decoder *d, uint32_t n, mrb_value *out, int depth)
{
  if (dec_enter(d, depth)) return -1;
  /* every element takes at least one byte: refuse counts the input cannot hold */
  if (n > (uint64_t)(d->end - d->p)) return dec_fail(d, "array length exceeds input");
  mrb_value ary = mrb_ary_new_capa(d->mrb, n);
  int ai = mrb_gc_arena_save(d->mrb);
  for (uint32_t i = 0; i < n; i++) {
    mrb_value item;
    if (dec_value(d, &item, depth + 1)) return -1;
    mrb_ary_push(d->mrb, ary, item);
    mrb_gc_arena_restore(d->mrb, ai);
  }
  *out = ary;
  return 0;
}

static int
dec_map(decoder *d, uint32_t n, mrb_value *out, int depth)
{
  if (dec_enter(d, depth)) return -1;
  if (n > (uint64_t)(d->end - d->p) / 2) return dec_fail(d, "map length exceeds input");
  mrb_value hash = mrb_hash_new_capa(d->mrb, n);
  int ai = mrb_gc_arena_save(d->mrb);
  for (uint32_t i = 0; i < n; i++) {
    mrb_value k, v;
    if (dec_value(d, &k, depth + 1) || dec_value(d, &v, depth + 1)) return -1;
    mrb_hash_set(d->mrb, hash, k, v);
    mrb_gc_arena_restore(d->mrb, ai);
  }
  *out = hash;
  return 0;
}

static int
dec_ext(decoder *d, uint8_t type, uint32_t n, mrb_value *out)
{
  const uint8_t *q;
  if (take(d, n, &q)) return -1;
  switch (type) {
  case KOBAKO_EXT_SYMBOL:
    *out = mrb_symbol_value(mrb_intern(d->mrb, (const char *)q, n));
    return 0;
  case KOBAKO_EXT_BIGINT: {
    uint32_t i = (n > 0 && q[0] == '-') ? 1 : 0;
    if (n == i || n > 100000) return dec_fail(d, "bad bigint");
    for (; i < n; i++) {
      uint8_t c = q[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return dec_fail(d, "bad bigint");
    }
    /* the host sends only values beyond int64 here; a negative base means negative */
    mrb_int neg = q[0] == '-';
    *out = mrb_bint_new_str(d->mrb, (const char *)q + neg, n - neg, neg ? -16 : 16);
    return 0;
  }
  case KOBAKO_EXT_HANDLE:
    if (n != 4) return dec_fail(d, "bad handle");
    *out = kobako_handle_new(d->mrb, ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) |
                                         ((uint32_t)q[2] << 8) | q[3]);
    return 0;
  default:
    return dec_fail(d, "unknown ext type");
  }
}

static int
dec_value(decoder *d, mrb_value *out, int depth)
{
  const uint8_t *q;
  uint64_t n;
  if (take(d, 1, &q)) return -1;
  uint8_t t = *q;

  if (t <= 0x7f) { *out = mrb_int_value(d->mrb, t); return 0; }
  if (t >= 0xe0) { *out = mrb_int_value(d->mrb, (int8_t)t); return 0; }
  if ((t & 0xe0) == 0xa0) return dec_str(d, t & 0x1f, out);
  if ((t & 0xf0) == 0x90) return dec_array(d, t & 0x0f, out, depth);
  if ((t & 0xf0) == 0x80) return dec_map(d, t & 0x0f, out, depth);

  switch (t) {
  case 0xc0: *out = mrb_nil_value(); return 0;
  case 0xc2: *out = mrb_false_value(); return 0;
  case 0xc3: *out = mrb_true_value(); return 0;
  case 0xc4: case 0xd9: if (take_be(d, 1, &n)) return -1; return dec_str(d, (uint32_t)n, out);
  case 0xc5: case 0xda: if (take_be(d, 2, &n)) return -1; return dec_str(d, (uint32_t)n, out);
  case 0xc6: case 0xdb: if (take_be(d, 4, &n)) return -1; return dec_str(d, (uint32_t)n, out);
  case 0xca: {
    union { float f; uint32_t u; } f;
    if (take_be(d, 4, &n)) return -1;
    f.u = (uint32_t)n;
    *out = mrb_float_value(d->mrb, f.f);
    return 0;
  }
  case 0xcb: {
    union { double d; uint64_t u; } f;
    if (take_be(d, 8, &n)) return -1;
    f.u = n;
    *out = mrb_float_value(d->mrb, f.d);
    return 0;
  }
  case 0xcc: if (take_be(d, 1, &n)) return -1; *out = mrb_int_value(d->mrb, (mrb_int)n); return 0;
  case 0xcd: if (take_be(d, 2, &n)) return -1; *out = mrb_int_value(d->mrb, (mrb_int)n); return 0;
  case 0xce: if (take_be(d, 4, &n)) return -1; *out = mrb_int_value(d->mrb, (mrb_int)n); return 0;
  case 0xcf:
    if (take_be(d, 8, &n)) return -1;
    if (n > INT64_MAX) return dec_fail(d, "uint64 beyond Integer range; send as bigint");
    *out = mrb_int_value(d->mrb, (mrb_int)n);
    return 0;
  case 0xd0: if (take_be(d, 1, &n)) return -1; *out = mrb_int_value(d->mrb, (int8_t)n); return 0;
  case 0xd1: if (take_be(d, 2, &n)) return -1; *out = mrb_int_value(d->mrb, (int16_t)n); return 0;
  case 0xd2: if (take_be(d, 4, &n)) return -1; *out = mrb_int_value(d->mrb, (int32_t)n); return 0;
  case 0xd3: if (take_be(d, 8, &n)) return -1; *out = mrb_int_value(d->mrb, (int64_t)n); return 0;
  case 0xdc: if (take_be(d, 2, &n)) return -1; return dec_array(d, (uint32_t)n, out, depth);
  case 0xdd: if (take_be(d, 4, &n)) return -1; return dec_array(d, (uint32_t)n, out, depth);
  case 0xde: if (take_be(d, 2, &n)) return -1; return dec_map(d, (uint32_t)n, out, depth);
  case 0xdf: if (take_be(d, 4, &n)) return -1; return dec_map(d, (uint32_t)n, out, depth);
  case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
    uint64_t type;
    if (take_be(d, 1, &type)) return -1;
    return dec_ext(d, (uint8_t)type, 1u << (t - 0xd4), out);
  }
  case 0xc7: case 0xc8: case 0xc9: {
    uint64_t type;
    if (take_be(d, 1 << (t - 0xc7), &n) || take_be(d, 1, &type)) return -1;
    return dec_ext(d, (uint8_t)type, (uint32_t)n, out);
  }
  default:
    return dec_fail(d, "unsupported msgpack type");
  }
}

int
kobako_decode(mrb_state *mrb, const uint8_t *data, uint32_t len, mrb_value *out,
              uint32_t *used, kobako_codec_error *err)
{
  decoder d;
  d.mrb = mrb;
  d.p = data;
  d.end = data + len;
  d.err = err;
  err->klass = NULL;
  if (dec_value(&d, out, 0)) return -1;
  *used = (uint32_t)(d.p - data);
  return 0;
}
