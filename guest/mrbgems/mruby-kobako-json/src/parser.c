/* The JSON parser: JSON text to Ruby values, accepting what json 2.6's Ragel
 * parser accepts (RFC 8259 plus C and C++ style comments, and NaN/Infinity
 * with allow_nan) and failing where it fails, with the same messages:
 *
 *   an array reports "451: unexpected token at '<rest of input>'" from where
 *   it stopped; an object only fails, so its enclosing array (451) or the
 *   document (859) reports from the object's start.
 *
 * One difference by design: invalid UTF-8 inside a string raises ParserError
 * (CRuby 3.1 passes it through). Nesting is bounded by max_nesting and, when
 * that is off, by the C stack guard. The parser runs no Ruby code. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/internal.h>
#include <mruby/string.h>
#include "json.h"

/* Line numbers of json 2.6.1's parser.c that CRuby 3.1 puts in its messages. */
enum {
  AT_NAN = 225,
  AT_INFINITY = 232,
  AT_MINUS_INFINITY = 249,
  AT_ARRAY = 451,
  AT_SURROGATE = 521,
  AT_DOCUMENT = 859
};

typedef struct {
  mrb_state *mrb;
  const char *start, *end;
  const json_parse_options *opts;
  int base_units; /* json_stack_units held by callers further out */
} parser;

static mrb_noreturn void
fail_at(parser *ps, int line, const char *what, const char *p)
{
  mrb_state *mrb = ps->mrb;
  /* CRuby formats the rest of the input with %s: it ends at a NUL byte */
  const char *nul = memchr(p, 0, (size_t)(ps->end - p));
  mrb_int n = (nul ? nul : ps->end) - p;
  mrb_value msg = mrb_format(mrb, "%d: %s at '", line, what);
  mrb_str_cat(mrb, msg, p, (size_t)n);
  mrb_str_cat_lit(mrb, msg, "'");
  mrb_exc_raise(mrb, mrb_exc_new_str(mrb, json_error_class(mrb, "ParserError"), msg));
}

static mrb_noreturn void
unexpected(parser *ps, int line, const char *p)
{
  fail_at(ps, line, "unexpected token", p);
}

/* Whitespace and comments. NULL when a comment is malformed, with *err where
 * the parse stopped (the input's end for an unterminated comment). */
static const char *
skip_ignore(parser *ps, const char *p, const char **err)
{
  const char *pe = ps->end;
  for (;;) {
    while (p < pe && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    if (p >= pe || *p != '/') return p;
    if (p + 1 >= pe) {
      *err = pe;
      return NULL;
    }
    if (p[1] == '*') {
      const char *q = p + 2;
      while (q + 1 < pe && !(q[0] == '*' && q[1] == '/')) q++;
      if (q + 1 >= pe) {
        *err = pe;
        return NULL;
      }
      p = q + 2;
    }
    else if (p[1] == '/') {
      const char *q = memchr(p + 2, '\n', (size_t)(pe - p - 2));
      if (!q) {
        *err = pe;
        return NULL;
      }
      p = q + 1;
    }
    else {
      *err = p + 1;
      return NULL;
    }
  }
}

static int
begins_value(char c)
{
  return c == '"' || c == '[' || c == '{' || c == '-' || (c >= '0' && c <= '9') || c == 'n' ||
         c == 't' || c == 'f' || c == 'N' || c == 'I';
}

static mrb_value
frozen(parser *ps, mrb_value v)
{
  if (ps->opts->freeze) MRB_SET_FROZEN_FLAG(mrb_basic_ptr(v));
  return v;
}

/* ---- strings ---- */

static int
hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static uint32_t
hex4(const char *p)
{
  return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

static int
is_hex4(const char *p)
{
  return hexval(p[0]) >= 0 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0 && hexval(p[3]) >= 0;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static int
utf8_len(const uint8_t *s, const uint8_t *end)
{
  uint8_t c = s[0];
  int need;
  uint8_t lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) need = 1;
  else if (c >= 0xe0 && c <= 0xef) need = 2;
  else if (c >= 0xf0 && c <= 0xf4) need = 3;
  else return 0;
  if (end - s <= need) return 0;
  if (c == 0xe0) lo = 0xa0;
  else if (c == 0xed) hi = 0x9f;
  else if (c == 0xf0) lo = 0x90;
  else if (c == 0xf4) hi = 0x8f;
  if (s[1] < lo || s[1] > hi) return 0;
  for (int k = 2; k <= need; k++) {
    if (s[k] < 0x80 || s[k] > 0xbf) return 0;
  }
  return need + 1;
}

static int
put_utf8(char *out, uint32_t ch)
{
  if (ch < 0x80) {
    out[0] = (char)ch;
    return 1;
  }
  if (ch < 0x800) {
    out[0] = (char)(0xc0 | (ch >> 6));
    out[1] = (char)(0x80 | (ch & 0x3f));
    return 2;
  }
  if (ch < 0x10000) {
    out[0] = (char)(0xe0 | (ch >> 12));
    out[1] = (char)(0x80 | ((ch >> 6) & 0x3f));
    out[2] = (char)(0x80 | (ch & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (ch >> 18));
  out[1] = (char)(0x80 | ((ch >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((ch >> 6) & 0x3f));
  out[3] = (char)(0x80 | (ch & 0x3f));
  return 4;
}

/* Decodes the escapes of s[0, n) (already checked by scan_string) into a new
 * String, the way json 2.6 does, surrogate quirks included. */
static mrb_value
unescape(parser *ps, const char *s, mrb_int n)
{
  mrb_state *mrb = ps->mrb;
  mrb_value out = mrb_str_new_capa(mrb, n); /* escapes never grow the text */
  char *o = RSTRING_PTR(out);
  const char *p = s, *end = s + n;
  mrb_int len = 0;

  while (p < end) {
    if (*p != '\\') {
      o[len++] = *p++;
      continue;
    }
    const char *esc = p++;
    switch (*p) {
    case 'b': o[len++] = '\b'; p++; break;
    case 'f': o[len++] = '\f'; p++; break;
    case 'n': o[len++] = '\n'; p++; break;
    case 'r': o[len++] = '\r'; p++; break;
    case 't': o[len++] = '\t'; p++; break;
    case 'u': {
      uint32_t ch = hex4(p + 1);
      p += 5;
      if ((ch & 0xfc00) == 0xd800) {
        if (end - p < 6) fail_at(ps, AT_SURROGATE, "incomplete surrogate pair", esc);
        if (p[0] == '\\' && p[1] == 'u') {
          /* json 2.6 combines without checking for a low surrogate */
          uint32_t sur = hex4(p + 2);
          ch = ((ch & 0x3f) << 10) | ((((ch >> 6) & 0xf) + 1) << 16) | (sur & 0x3ff);
          p += 6;
        }
        else {
          o[len++] = '?';
          p++; /* json 2.6 drops the byte after a lone high surrogate */
          break;
        }
      }
      len += put_utf8(o + len, ch);
      break;
    }
    default: /* \" \\ \/ and any other escaped character stand for themselves */
      o[len++] = *p++;
      break;
    }
  }
  RSTR_SET_LEN(RSTRING(out), len);
  o[len] = '\0';
  return out;
}

/* The string starting at the quote p: NULL when json 2.6's string machine
 * would reject it; raises on invalid UTF-8. */
static const char *
parse_string(parser *ps, const char *p, mrb_value *out, mrb_bool name)
{
  const char *pe = ps->end, *q = p + 1;
  mrb_bool escaped = FALSE;

  for (;;) {
    /* the common case: a run of plain ASCII */
    while (q < pe && (uint8_t)*q >= 0x20 && (uint8_t)*q < 0x80 && *q != '"' && *q != '\\') q++;
    if (q >= pe) return NULL;
    uint8_t c = (uint8_t)*q;
    if (c == '"') break;
    if (c < 0x20) return NULL;
    if (c == '\\') {
      escaped = TRUE;
      if (q + 1 >= pe) return NULL;
      uint8_t e = (uint8_t)q[1];
      if (e == 'u') {
        if (pe - q < 6 || !is_hex4(q + 2)) return NULL;
        q += 6;
      }
      else if (e < 0x20) return NULL;
      else q += 2; /* a multibyte character after the backslash is checked next round */
      continue;
    }
    int n = utf8_len((const uint8_t *)q, (const uint8_t *)pe);
    if (!n) {
      mrb_raisef(ps->mrb, json_error_class(ps->mrb, "ParserError"),
                 "source sequence is illegal/malformed utf-8 at byte %i", (mrb_int)(q - ps->start));
    }
    q += n;
  }

  const char *s = p + 1;
  mrb_int n = q - s;
  if (name && ps->opts->symbolize_names) {
    if (escaped) {
      mrb_value str = unescape(ps, s, n);
      *out = mrb_symbol_value(mrb_intern_str(ps->mrb, str));
    }
    else *out = mrb_symbol_value(mrb_intern(ps->mrb, s, (size_t)n));
    return q + 1;
  }
  *out = escaped ? unescape(ps, s, n) : mrb_str_new(ps->mrb, s, n);
  /* keys are frozen anyway; freezing here saves Hash#[]= a copy */
  if (name || ps->opts->freeze) MRB_SET_FROZEN_FLAG(mrb_basic_ptr(*out));
  return q + 1;
}

/* ---- numbers ---- */

static int
digit(const char *p, const char *pe)
{
  return p < pe && *p >= '0' && *p <= '9';
}

static const char *
digits(const char *p, const char *pe)
{
  while (digit(p, pe)) p++;
  return p;
}

static const uint64_t pow10_u64[20] = {
  1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,
  1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
  100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
  1000000000000000000ULL, 10000000000000000000ULL,
};

/* The common float exactly, without strtod (wasi-libc's costs microseconds):
 * up to 19 significant digits w and a decimal exponent q in [-19, 19]. Then
 * w * 10^q is an exact 128-bit integer, converted with one correct rounding;
 * and w / 10^-q is a quotient of at least 63 bits whose lowest bit also
 * records a nonzero remainder, so its one rounding is correct too. 0 when the
 * number is outside that range (the caller uses strtod). */
static int
fast_float(const char *p, const char *end, double *out)
{
  mrb_bool neg = *p == '-';
  uint64_t w = 0;
  int sig = 0, q = 0;

  p += neg;
  for (; p < end && *p >= '0' && *p <= '9'; p++) {
    if (sig >= 19) return 0;
    w = w * 10 + (uint64_t)(*p - '0');
    sig += w != 0;
  }
  if (p < end && *p == '.') {
    for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
      if (sig >= 19) return 0;
      w = w * 10 + (uint64_t)(*p - '0');
      sig += w != 0;
      q--;
    }
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    mrb_bool eneg = FALSE;
    int e = 0;
    p++;
    if (*p == '+' || *p == '-') eneg = *p++ == '-';
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
      if (e > 1000) return 0;
      e = e * 10 + (*p - '0');
    }
    q += eneg ? -e : e;
  }
  double d;
  if (w == 0) d = 0.0;
  else if (q >= 0 && q <= 19) {
    d = (double)((unsigned __int128)w * pow10_u64[q]);
  }
  else if (q < 0 && q >= -19) {
    int shift = 127 - (64 - __builtin_clzll(w));
    unsigned __int128 n = (unsigned __int128)w << shift, den = pow10_u64[-q];
    unsigned __int128 quot = n / den;
    if (n - quot * den) quot |= 1;
    d = ldexp((double)quot, -shift);
  }
  else return 0;
  *out = neg ? -d : d;
  return 1;
}

static mrb_value
make_float(parser *ps, const char *p, mrb_int n)
{
  double d;
  if (fast_float(p, p + n, &d)) return mrb_float_value(ps->mrb, d);
  char small[64];
  char *buf = small;
  if (n >= (mrb_int)sizeof(small)) buf = RSTRING_PTR(mrb_str_new(ps->mrb, p, n));
  else {
    memcpy(small, p, (size_t)n);
    small[n] = '\0';
  }
  return mrb_float_value(ps->mrb, strtod(buf, NULL)); /* overflow gives +-Infinity, as CRuby */
}

#ifdef MRB_USE_BIGINT
static uint64_t
chunk(const char *d, mrb_int n)
{
  uint64_t v = 0;
  for (mrb_int i = 0; i < n; i++) v = v * 10 + (uint64_t)(d[i] - '0');
  return v;
}

/* 18 digits at a time: mruby's own string conversion allocates per digit.
 * (mrb_bint_new_uint64 is avoided: mruby 3.3's mpz_set_uint64 drops the high
 * 32 bits.) */
static mrb_value
make_bigint(parser *ps, const char *d, mrb_int n, mrb_bool neg)
{
  mrb_state *mrb = ps->mrb;
  mrb_int first = n % 18 ? n % 18 : 18;
  mrb_value acc = mrb_bint_new_int(mrb, (mrb_int)chunk(d, first));
  mrb_value scale = mrb_bint_new_int(mrb, 1000000000000000000LL);
  int ai = mrb_gc_arena_save(mrb);
  for (mrb_int i = first; i < n; i += 18) {
    acc = mrb_bint_mul(mrb, mrb_as_bint(mrb, acc), scale);
    acc = mrb_bint_add(mrb, mrb_as_bint(mrb, acc), mrb_int_value(mrb, (mrb_int)chunk(d + i, 18)));
    mrb_gc_arena_restore(mrb, ai);
    mrb_gc_protect(mrb, acc);
  }
  if (neg) acc = mrb_bint_sub(mrb, mrb_as_bint(mrb, mrb_int_value(mrb, 0)), acc);
  return acc;
}
#endif

static mrb_value
make_integer(parser *ps, const char *p, mrb_int n)
{
  mrb_bool neg = *p == '-';
  const char *d = p + neg, *end = p + n;
  uint64_t v = 0;
  for (; d < end; d++) {
    uint64_t next = v * 10 + (uint64_t)(*d - '0');
    if (v > (UINT64_MAX - 9) / 10 || next > (uint64_t)INT64_MAX + neg) goto big;
    v = next;
  }
  return mrb_int_value(ps->mrb, neg ? (mrb_int)(0 - v) : (mrb_int)v);
big:
#ifdef MRB_USE_BIGINT
  return make_bigint(ps, p + neg, n - neg, neg);
#else
  return make_float(ps, p, n);
#endif
}

/* json 2.6 tries a float first, whose end may not touch [0-9Ee.-], then an
 * integer, whose end may not touch a digit (so "01" fails). NULL: neither. */
static const char *
parse_number(parser *ps, const char *p, mrb_value *out)
{
  const char *pe = ps->end, *q = p;
  if (q < pe && *q == '-') q++;
  if (!digit(q, pe)) return NULL;
  q = *q == '0' ? q + 1 : digits(q, pe);
  const char *int_end = q;

  const char *f = q;
  mrb_bool is_float = FALSE;
  if (f < pe && *f == '.') {
    if (digit(f + 1, pe)) {
      f = digits(f + 1, pe);
      is_float = TRUE;
    }
    else f = NULL;
  }
  if (f && f < pe && (*f == 'e' || *f == 'E')) {
    const char *x = f + 1;
    if (x < pe && (*x == '+' || *x == '-')) x++;
    if (digit(x, pe)) {
      f = digits(x, pe);
      is_float = TRUE;
    }
    else f = NULL;
  }
  if (f && is_float &&
      !(f < pe && ((*f >= '0' && *f <= '9') || *f == 'E' || *f == 'e' || *f == '.' || *f == '-'))) {
    *out = make_float(ps, p, f - p);
    return f;
  }
  if (digit(int_end, pe)) return NULL;
  *out = make_integer(ps, p, int_end - p);
  return int_end;
}

/* ---- values ---- */

static const char *parse_value(parser *ps, const char *p, mrb_value *out, mrb_int nesting);

static void
check_nesting(parser *ps, mrb_int nesting)
{
  if (ps->opts->max_nesting && nesting > ps->opts->max_nesting) {
    mrb_raisef(ps->mrb, json_error_class(ps->mrb, "NestingError"), "nesting of %i is too deep",
               nesting);
  }
  if (ps->base_units + nesting > JSON_STACK_BUDGET) json_stack_exhausted(ps->mrb);
  json_check_stack(ps->mrb);
}

/* At '['. Raises rather than returning NULL, as json 2.6's array does. */
static const char *
parse_array(parser *ps, const char *p, mrb_value *out, mrb_int nesting)
{
  mrb_state *mrb = ps->mrb;
  const char *err = NULL;
  check_nesting(ps, nesting);
  mrb_value ary = mrb_ary_new(mrb);
  int ai = mrb_gc_arena_save(mrb);

  p = skip_ignore(ps, p + 1, &err);
  if (!p) unexpected(ps, AT_ARRAY, err);
  if (p < ps->end && *p == ']') {
    *out = frozen(ps, ary);
    return p + 1;
  }
  for (;;) {
    mrb_value v;
    const char *np;
    if (p >= ps->end || !begins_value(*p)) unexpected(ps, AT_ARRAY, p);
    np = parse_value(ps, p, &v, nesting);
    if (!np) unexpected(ps, AT_ARRAY, p);
    mrb_ary_push(mrb, ary, v);
    mrb_gc_arena_restore(mrb, ai);
    p = skip_ignore(ps, np, &err);
    if (!p) unexpected(ps, AT_ARRAY, err);
    if (p < ps->end && *p == ']') {
      *out = frozen(ps, ary);
      return p + 1;
    }
    if (p >= ps->end || *p != ',') unexpected(ps, AT_ARRAY, p);
    p = skip_ignore(ps, p + 1, &err);
    if (!p) unexpected(ps, AT_ARRAY, err);
  }
}

/* At '{'. NULL on a syntax error: the caller reports from the object's start. */
static const char *
parse_object(parser *ps, const char *p, mrb_value *out, mrb_int nesting)
{
  mrb_state *mrb = ps->mrb;
  const char *err = NULL, *pe = ps->end;
  check_nesting(ps, nesting);
  mrb_value hash = mrb_hash_new(mrb);
  int ai = mrb_gc_arena_save(mrb);

  p = skip_ignore(ps, p + 1, &err);
  if (!p) return NULL;
  if (p < pe && *p == '}') {
    *out = frozen(ps, hash);
    return p + 1;
  }
  for (;;) {
    mrb_value key, v;
    if (p >= pe || *p != '"') return NULL;
    p = parse_string(ps, p, &key, TRUE);
    if (!p || !(p = skip_ignore(ps, p, &err))) return NULL;
    if (p >= pe || *p != ':') return NULL;
    if (!(p = skip_ignore(ps, p + 1, &err))) return NULL;
    if (p >= pe || !begins_value(*p)) return NULL;
    if (!(p = parse_value(ps, p, &v, nesting))) return NULL;
    mrb_hash_set(mrb, hash, key, v);
    mrb_gc_arena_restore(mrb, ai);
    if (!(p = skip_ignore(ps, p, &err))) return NULL;
    if (p < pe && *p == '}') {
      *out = frozen(ps, hash);
      return p + 1;
    }
    if (p >= pe || *p != ',') return NULL;
    if (!(p = skip_ignore(ps, p + 1, &err))) return NULL;
  }
}

static int
literal(parser *ps, const char *p, const char *word, size_t n)
{
  return (size_t)(ps->end - p) >= n && memcmp(p, word, n) == 0;
}

/* At a character that begins_value. NULL when no value can be read here. */
static const char *
parse_value(parser *ps, const char *p, mrb_value *out, mrb_int nesting)
{
  switch (*p) {
  case '"':
    return parse_string(ps, p, out, FALSE);
  case '[':
    return parse_array(ps, p, out, nesting + 1);
  case '{':
    return parse_object(ps, p, out, nesting + 1);
  case 'n':
    if (!literal(ps, p, "null", 4)) return NULL;
    *out = mrb_nil_value();
    return p + 4;
  case 't':
    if (!literal(ps, p, "true", 4)) return NULL;
    *out = mrb_true_value();
    return p + 4;
  case 'f':
    if (!literal(ps, p, "false", 5)) return NULL;
    *out = mrb_false_value();
    return p + 5;
  case 'N':
    if (!literal(ps, p, "NaN", 3)) return NULL;
    if (!ps->opts->allow_nan) unexpected(ps, AT_NAN, p);
    *out = mrb_float_value(ps->mrb, NAN);
    return p + 3;
  case 'I':
    if (!literal(ps, p, "Infinity", 8)) return NULL;
    /* json 2.6 reports from one byte before the word */
    if (!ps->opts->allow_nan) unexpected(ps, AT_INFINITY, p > ps->start ? p - 1 : ps->end);
    *out = mrb_float_value(ps->mrb, INFINITY);
    return p + 8;
  default:
    if (literal(ps, p, "-Infinity", 9)) {
      if (!ps->opts->allow_nan) unexpected(ps, AT_MINUS_INFINITY, p);
      *out = mrb_float_value(ps->mrb, -INFINITY);
      return p + 9;
    }
    return parse_number(ps, p, out);
  }
}

mrb_value
json_parse(mrb_state *mrb, mrb_value source, const json_parse_options *opts)
{
  parser ps = {mrb, RSTRING_PTR(source), RSTRING_PTR(source) + RSTRING_LEN(source), opts,
               json_stack_units};
  const char *err = NULL, *p, *np;
  mrb_value result;

  p = skip_ignore(&ps, ps.start, &err);
  if (!p) unexpected(&ps, AT_DOCUMENT, err);
  if (p >= ps.end || !begins_value(*p)) unexpected(&ps, AT_DOCUMENT, p);
  np = parse_value(&ps, p, &result, 0);
  if (!np) unexpected(&ps, AT_DOCUMENT, p);
  p = skip_ignore(&ps, np, &err);
  if (!p) unexpected(&ps, AT_DOCUMENT, err);
  if (p != ps.end) unexpected(&ps, AT_DOCUMENT, p);
  return result;
}
