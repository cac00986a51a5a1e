/* The JSON generator: Ruby values to JSON text, as json 2.6's generator.c does.
 *
 * Hash, Array, String, Integer, Float, nil, true and false of exactly those
 * classes are written here; any other object goes through its to_json(state)
 * (Object#to_json writes to_s as a string). Floats are written with their own
 * to_s, so JSON agrees with Float#to_s. Nesting is bounded by max_nesting and,
 * when that is off, by the C stack guard. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/internal.h>
#include <mruby/presym.h>
#include <mruby/string.h>
#include <mruby/variable.h>
#include "json.h"
#include "kobako.h"

/* The output grows in scratch memory, never in a Ruby String: a to_json or
 * to_s method may reach any String through ObjectSpace and resize or free it. */
typedef struct {
  mrb_state *mrb;
  const json_config *cfg;
  mrb_value state; /* the JSON::State handed to to_json methods; nil until needed */
  kobako_sbuf out;
  mrb_int depth;
  int levels;     /* containers open in this generator */
  int base_units; /* json_stack_units held by callers further out */
} gen;

static void
reserve(gen *g, mrb_int n)
{
  kobako_sbuf_reserve(g->mrb, &g->out, (size_t)n);
}

static void
put(gen *g, const char *p, mrb_int n)
{
  kobako_sbuf_put(g->mrb, &g->out, p, (size_t)n);
}

static void
put_byte(gen *g, char c)
{
  reserve(g, 1);
  g->out.ptr[g->out.len++] = c;
}

static void
put_indent(gen *g, mrb_int depth)
{
  for (mrb_int j = 0; j < depth; j++) put(g, g->cfg->indent, g->cfg->indent_len);
}

static mrb_noreturn void
gen_fail(gen *g, const char *message)
{
  mrb_raise(g->mrb, json_error_class(g->mrb, "GeneratorError"), message);
}

/* A call into Ruby from this generator, which holds its open containers'
 * share of the stack budget meanwhile. */
static mrb_value
gen_call(gen *g, mrb_value obj, mrb_sym mid, mrb_int argc, const mrb_value *argv)
{
  mrb_value r = json_funcall(g->mrb, g->base_units + g->levels + JSON_CUSTOM_CALL_UNITS, obj, mid,
                             argc, argv);
  mrb_gc_protect(g->mrb, r); /* only this frame refers to it now */
  return r;
}

static mrb_value
gen_to_s_value(gen *g, mrb_value v)
{
  mrb_value s = gen_call(g, v, MRB_SYM(to_s), 0, NULL);
  if (!mrb_string_p(s)) {
    mrb_state *mrb = g->mrb;
    mrb_raisef(mrb, E_TYPE_ERROR, "wrong argument type %C (expected String)", mrb_obj_class(mrb, s));
  }
  return s;
}

/* ---- strings ---- */

static const char hex[] = "0123456789abcdef";

/* For ASCII bytes: 0 to copy, else the letter after the backslash ('u': \u00XX). */
static const char escapes[128] = {
  'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
  'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
  0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
};

static void
put_u_escape(gen *g, uint32_t unit)
{
  char e[6] = {'\\', 'u', hex[(unit >> 12) & 15], hex[(unit >> 8) & 15], hex[(unit >> 4) & 15],
               hex[unit & 15]};
  put(g, e, 6);
}

/* Length of the UTF-8 sequence at s[0, n), judged like json 2.6 (the lead
 * byte's declared length first, then strict validity); raises on bad input. */
static mrb_int
utf8_sequence(gen *g, const uint8_t *s, mrb_int n, uint32_t *cp)
{
  uint8_t c = s[0];
  mrb_int extra = c < 0xc0 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : c < 0xf8 ? 3 : c < 0xfc ? 4 : 5;
  if (extra >= n) gen_fail(g, "partial character in source, but hit end");
  if (extra == 0 || extra > 3 || c > 0xf4) gen_fail(g, "source sequence is illegal/malformed utf-8");
  uint8_t lo = 0x80, hi = 0xbf;
  if (c == 0xe0) lo = 0xa0;
  else if (c == 0xed) hi = 0x9f;
  else if (c == 0xf0) lo = 0x90;
  else if (c == 0xf4) hi = 0x8f;
  if (c < 0xc2 || s[1] < lo || s[1] > hi) gen_fail(g, "source sequence is illegal/malformed utf-8");
  uint32_t v = c & (0x3f >> extra);
  for (mrb_int k = 1; k <= extra; k++) {
    if (k > 1 && (s[k] < 0x80 || s[k] > 0xbf)) {
      gen_fail(g, "source sequence is illegal/malformed utf-8");
    }
    v = (v << 6) | (s[k] & 0x3f);
  }
  *cp = v;
  return extra + 1;
}

static void
gen_string(gen *g, const char *str, mrb_int n)
{
  const uint8_t *s = (const uint8_t *)str;
  mrb_bool slash = g->cfg->escape_slash, ascii = g->cfg->ascii_only;
  mrb_int run = 0, i = 0;

  reserve(g, n + 2);
  put_byte(g, '"');
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      char e = escapes[c];
      if (!e && !(c == '/' && slash)) {
        i++;
        continue;
      }
      put(g, str + run, i - run);
      if (e == 'u') put_u_escape(g, c);
      else {
        char two[2] = {'\\', e ? e : '/'};
        put(g, two, 2);
      }
      run = ++i;
      continue;
    }
    uint32_t cp;
    mrb_int len = utf8_sequence(g, s + i, n - i, &cp);
    if (ascii) {
      put(g, str + run, i - run);
      if (cp > 0xffff) {
        cp -= 0x10000;
        put_u_escape(g, 0xd800 | (cp >> 10));
        put_u_escape(g, 0xdc00 | (cp & 0x3ff));
      }
      else put_u_escape(g, cp);
      run = i + len;
    }
    i += len;
  }
  put(g, str + run, n - run);
  put_byte(g, '"');
}

/* ---- scalars ---- */

static void
gen_int(gen *g, mrb_int v)
{
  char tmp[24];
  int k = sizeof(tmp);
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[--k] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[--k] = '-';
  put(g, tmp + k, (mrb_int)sizeof(tmp) - k);
}

static void
gen_float(gen *g, mrb_value v)
{
  mrb_state *mrb = g->mrb;
  double d = mrb_float(v);
  mrb_value s = gen_to_s_value(g, v);
  if (!g->cfg->allow_nan && (isinf(d) || isnan(d))) {
    mrb_raisef(mrb, json_error_class(mrb, "GeneratorError"), "%d: %v not allowed in JSON",
               isnan(d) ? 1003 : 1000, s);
  }
  put(g, RSTRING_PTR(s), RSTRING_LEN(s));
}

/* ---- containers ---- */

static void gen_value(gen *g, mrb_value v);

static mrb_int
enter(gen *g)
{
  mrb_int depth = ++g->depth;
  if (g->cfg->max_nesting != 0 && depth > g->cfg->max_nesting) {
    mrb_raisef(g->mrb, json_error_class(g->mrb, "NestingError"), "nesting of %i is too deep",
               --g->depth);
  }
  if (g->base_units + ++g->levels > JSON_STACK_BUDGET) json_stack_exhausted(g->mrb);
  json_check_stack(g->mrb);
  return depth;
}

static void
gen_array(gen *g, mrb_value a)
{
  const json_config *cfg = g->cfg;
  mrb_int depth = enter(g);
  mrb_gc_protect(g->mrb, a); /* a callback may drop every other reference to it */
  int ai = mrb_gc_arena_save(g->mrb);

  put_byte(g, '[');
  put(g, cfg->array_nl, cfg->array_nl_len);
  for (mrb_int i = 0; i < RARRAY_LEN(a); i++) {
    if (i > 0) {
      put_byte(g, ',');
      put(g, cfg->array_nl, cfg->array_nl_len);
    }
    put_indent(g, depth);
    gen_value(g, RARRAY_PTR(a)[i]);
    mrb_gc_arena_restore(g->mrb, ai);
  }
  depth = --g->depth;
  g->levels--;
  if (cfg->array_nl_len) {
    put(g, cfg->array_nl, cfg->array_nl_len);
    put_indent(g, depth);
  }
  put_byte(g, ']');
}

typedef struct {
  gen *g;
  mrb_int depth, index;
  int ai;
} pair_iter;

static int
gen_pair(mrb_state *mrb, mrb_value key, mrb_value val, void *data)
{
  pair_iter *it = (pair_iter *)data;
  gen *g = it->g;
  const json_config *cfg = g->cfg;

  if (it->index++ > 0) put_byte(g, ',');
  put(g, cfg->object_nl, cfg->object_nl_len);
  put_indent(g, it->depth);
  if (mrb_string_p(key)) {
    gen_string(g, RSTRING_PTR(key), RSTRING_LEN(key));
  }
  else if (mrb_symbol_p(key)) {
    mrb_int n;
    const char *p = mrb_sym_name_len(mrb, mrb_symbol(key), &n);
    gen_string(g, p, n);
  }
  else {
    mrb_value s = gen_to_s_value(g, key);
    gen_string(g, RSTRING_PTR(s), RSTRING_LEN(s));
  }
  put(g, cfg->space_before, cfg->space_before_len);
  put_byte(g, ':');
  put(g, cfg->space, cfg->space_len);
  gen_value(g, val);
  mrb_gc_arena_restore(mrb, it->ai);
  return 0;
}

static void
gen_hash(gen *g, mrb_value h)
{
  const json_config *cfg = g->cfg;
  mrb_int depth0 = enter(g);
  mrb_gc_protect(g->mrb, h); /* a callback may drop every other reference to it */
  pair_iter it = {g, depth0, 0, mrb_gc_arena_save(g->mrb)};

  put_byte(g, '{');
  /* raises if a to_json or to_s called from here changes the Hash */
  mrb_hash_foreach(g->mrb, mrb_hash_ptr(h), gen_pair, &it);
  mrb_int depth = --g->depth;
  g->levels--;
  if (cfg->object_nl_len) {
    put(g, cfg->object_nl, cfg->object_nl_len);
    put_indent(g, depth);
  }
  put_byte(g, '}');
}

/* ---- dispatch ---- */

static void
gen_builtin(gen *g, mrb_value v)
{
  switch (mrb_type(v)) {
  case MRB_TT_HASH: gen_hash(g, v); return;
  case MRB_TT_ARRAY: gen_array(g, v); return;
  case MRB_TT_STRING: gen_string(g, RSTRING_PTR(v), RSTRING_LEN(v)); return;
  case MRB_TT_INTEGER: gen_int(g, mrb_integer(v)); return;
  case MRB_TT_FLOAT: gen_float(g, v); return;
  case MRB_TT_TRUE: put(g, "true", 4); return;
  case MRB_TT_FALSE:
    if (mrb_nil_p(v)) put(g, "null", 4);
    else put(g, "false", 5);
    return;
#ifdef MRB_USE_BIGINT
  case MRB_TT_BIGINT: {
    mrb_value s = mrb_bint_to_s(g->mrb, v, 10);
    put(g, RSTRING_PTR(s), RSTRING_LEN(s));
    return;
  }
#endif
  default: {
    mrb_state *mrb = g->mrb;
    mrb_raisef(mrb, E_TYPE_ERROR, "%C has no JSON form", mrb_obj_class(mrb, v));
  }
  }
}

static void
gen_to_s(gen *g, mrb_value v)
{
  mrb_value s = gen_to_s_value(g, v);
  gen_string(g, RSTRING_PTR(s), RSTRING_LEN(s));
}

/* obj.to_json(state), with the state's depth set to where we are. While it
 * runs, the JSON calls it makes see this generator's stack use. */
static void
gen_custom(gen *g, mrb_value v)
{
  mrb_state *mrb = g->mrb;
  if (!mrb_respond_to(mrb, v, MRB_SYM(to_json))) {
    gen_to_s(g, v);
    return;
  }
  if (mrb_nil_p(g->state)) {
    json_config cfg = *g->cfg;
    g->state = json_state_new(mrb, &cfg);
    /* held by the hidden buffer's owner: the arena is rewound after each element */
    mrb_iv_set(mrb, mrb_obj_value(g->out.owner), mrb_intern_lit(mrb, "state"), g->state);
  }
  mrb_iv_set(mrb, g->state, MRB_IVSYM(depth), mrb_int_value(mrb, g->depth));
  mrb_value s = gen_call(g, v, MRB_SYM(to_json), 1, &g->state);
  if (!mrb_string_p(s)) {
    mrb_raisef(mrb, E_TYPE_ERROR, "wrong argument type %C (expected String)", mrb_obj_class(mrb, s));
  }
  put(g, RSTRING_PTR(s), RSTRING_LEN(s));
}

/* Exactly the core classes are written directly, as json 2.6 does; their
 * subclasses and everything else answer for themselves through to_json. */
static void
gen_value(gen *g, mrb_value v)
{
  mrb_state *mrb = g->mrb;
  switch (mrb_type(v)) {
  case MRB_TT_HASH:
    if (mrb_class(mrb, v) != mrb->hash_class) break;
    gen_hash(g, v);
    return;
  case MRB_TT_ARRAY:
    if (mrb_class(mrb, v) != mrb->array_class) break;
    gen_array(g, v);
    return;
  case MRB_TT_STRING:
    if (mrb_class(mrb, v) != mrb->string_class) break;
    gen_string(g, RSTRING_PTR(v), RSTRING_LEN(v));
    return;
  case MRB_TT_INTEGER:
  case MRB_TT_FLOAT:
  case MRB_TT_TRUE:
  case MRB_TT_FALSE:
#ifdef MRB_USE_BIGINT
  case MRB_TT_BIGINT:
#endif
    gen_builtin(g, v);
    return;
  default:
    break;
  }
  gen_custom(g, v);
}

static mrb_value
finish(gen *g)
{
  return kobako_sbuf_string(g->mrb, &g->out);
}

static void
gen_init(gen *g, mrb_state *mrb, const json_config *cfg, mrb_value state)
{
  g->mrb = mrb;
  g->cfg = cfg;
  g->state = state;
  kobako_sbuf_init(mrb, &g->out, 64);
  g->depth = cfg->depth;
  g->levels = 0;
  g->base_units = json_stack_units;
}

mrb_value
json_generate(mrb_state *mrb, mrb_value obj, json_config *cfg, mrb_value state)
{
  gen g;
  gen_init(&g, mrb, cfg, state);
  gen_value(&g, obj);
  return finish(&g);
}

mrb_value
json_to_json(mrb_state *mrb, mrb_value obj, mrb_value state_arg, mrb_bool to_s)
{
  json_config cfg;
  gen g;
  mrb_value state = mrb_nil_value();

  json_config_defaults(&cfg);
  if (json_state_p(mrb, state_arg)) {
    state = state_arg;
    json_config_from_state(mrb, &cfg, state);
  }
  else if (mrb_hash_p(state_arg)) {
    json_config_apply(mrb, &cfg, state_arg);
  }
  gen_init(&g, mrb, &cfg, state);
  if (to_s) gen_to_s(&g, obj);
  else gen_builtin(&g, obj);
  return finish(&g);
}
