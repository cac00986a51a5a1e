/* The JSON module: error classes, generator options (JSON::State), and the C
 * entry points behind JSON.generate, JSON.parse and the to_json methods.
 * The Ruby-level conveniences (pretty_generate, dump, load...) are in
 * mrblib/json.rb. Behaviour follows CRuby 3.1's json 2.6.1. */
#include <stdint.h>
#include <string.h>
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/error.h>
#include <mruby/hash.h>
#include <mruby/presym.h>
#include <mruby/string.h>
#include <mruby/variable.h>
#include "json.h"
#include "kobako.h"

static struct RClass *
json_module(mrb_state *mrb)
{
  return mrb_module_get_id(mrb, MRB_SYM(JSON));
}

struct RClass *
json_error_class(mrb_state *mrb, const char *name)
{
  return mrb_class_get_under(mrb, json_module(mrb), name);
}

int json_stack_units;

mrb_noreturn void
json_stack_exhausted(mrb_state *mrb)
{
  mrb_raise(mrb, mrb_class_get_id(mrb, MRB_SYM(SystemStackError)), "stack level too deep");
}

typedef struct {
  mrb_value obj;
  mrb_sym mid;
  mrb_int argc;
  const mrb_value *argv;
  int units; /* json_stack_units to restore */
} json_call_args;

static mrb_value
call_body(mrb_state *mrb, mrb_value data)
{
  json_call_args *c = (json_call_args *)mrb_cptr(data);
  return mrb_funcall_argv(mrb, c->obj, c->mid, c->argc, c->argv);
}

static mrb_value
call_leave(mrb_state *mrb, mrb_value data)
{
  json_stack_units = ((json_call_args *)mrb_cptr(data))->units;
  return mrb_nil_value();
}

mrb_value
json_funcall(mrb_state *mrb, int units, mrb_value obj, mrb_sym mid, mrb_int argc,
             const mrb_value *argv)
{
  if (units > JSON_STACK_BUDGET) json_stack_exhausted(mrb);
  json_call_args call = {obj, mid, argc, argv, json_stack_units};
  mrb_value data = mrb_cptr_value(mrb, &call);
  json_stack_units = units;
  return mrb_ensure(mrb, call_body, data, call_leave, data);
}

mrb_value
json_call(mrb_state *mrb, mrb_value obj, mrb_sym mid, mrb_int argc, const mrb_value *argv)
{
  return json_funcall(mrb, json_stack_units + JSON_CUSTOM_CALL_UNITS, obj, mid, argc, argv);
}

#ifdef __wasm__
extern char __stack_low; /* wasm-ld: the C stack grows down towards this */
#define JSON_STACK_MARGIN (64 * 1024)

void
json_check_stack(mrb_state *mrb)
{
  volatile char here;
  if ((uintptr_t)&here < (uintptr_t)&__stack_low + JSON_STACK_MARGIN) json_stack_exhausted(mrb);
}
#else
void
json_check_stack(mrb_state *mrb)
{
  (void)mrb;
}
#endif

/* ---- generator options ---- */

void
json_config_defaults(json_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->indent = cfg->space = cfg->space_before = cfg->object_nl = cfg->array_nl = "";
  cfg->max_nesting = 100;
}

static mrb_value
opt(mrb_state *mrb, mrb_value opts, mrb_sym name)
{
  return mrb_hash_get(mrb, opts, mrb_symbol_value(name));
}

static mrb_bool
opt_given(mrb_state *mrb, mrb_value opts, mrb_sym name)
{
  return mrb_hash_key_p(mrb, opts, mrb_symbol_value(name));
}

/* A layout string: a copy in scratch memory, so nothing a to_json method or
 * an options Hash's default proc does (ObjectSpace reaches every String) can
 * move or free the bytes under the generator. */
static void
set_layout(mrb_state *mrb, mrb_value v, const char **p, mrb_int *n)
{
  if (!mrb_string_p(v)) {
    mrb_raisef(mrb, E_TYPE_ERROR, "wrong argument type %C (expected String)", mrb_obj_class(mrb, v));
  }
  *n = RSTRING_LEN(v);
  *p = kobako_scratch_copy(mrb, RSTRING_PTR(v), (size_t)*n);
}

static mrb_int
int_option(mrb_state *mrb, mrb_value v)
{
  if (!mrb_test(v)) return 0;
  if (!mrb_integer_p(v)) {
    mrb_raisef(mrb, E_TYPE_ERROR, "wrong argument type %C (expected Integer)", mrb_obj_class(mrb, v));
  }
  return mrb_integer(v);
}

static mrb_value
to_hash(mrb_state *mrb, mrb_value opts)
{
  if (mrb_hash_p(opts)) return opts;
  if (mrb_respond_to(mrb, opts, MRB_SYM(to_hash))) return json_call(mrb, opts, MRB_SYM(to_hash), 0, NULL);
  if (mrb_respond_to(mrb, opts, MRB_SYM(to_h))) return json_call(mrb, opts, MRB_SYM(to_h), 0, NULL);
  mrb_raisef(mrb, E_TYPE_ERROR, "can't convert %C into Hash", mrb_obj_class(mrb, opts));
  return mrb_nil_value();
}

/* State#configure of json 2.6: a falsy layout option keeps the current one;
 * max_nesting and depth reset to their defaults unless given. */
void
json_config_apply(mrb_state *mrb, json_config *cfg, mrb_value opts)
{
  mrb_value v;
  opts = to_hash(mrb, opts);
  if (!mrb_hash_p(opts)) mrb_raise(mrb, E_TYPE_ERROR, "options must be a Hash");
  mrb_gc_protect(mrb, opts); /* to_hash's result: only this frame refers to it */
#define LAYOUT(field)                                                         \
  v = opt(mrb, opts, MRB_SYM(field));                                         \
  if (mrb_test(v)) set_layout(mrb, v, &cfg->field, &cfg->field##_len);
  LAYOUT(indent)
  LAYOUT(space)
  LAYOUT(space_before)
  LAYOUT(object_nl)
  LAYOUT(array_nl)
#undef LAYOUT
  cfg->max_nesting = 100;
  if (opt_given(mrb, opts, MRB_SYM(max_nesting))) {
    cfg->max_nesting = int_option(mrb, opt(mrb, opts, MRB_SYM(max_nesting)));
  }
  cfg->depth = 0;
  if (opt_given(mrb, opts, MRB_SYM(depth))) cfg->depth = int_option(mrb, opt(mrb, opts, MRB_SYM(depth)));
  cfg->allow_nan = mrb_test(opt(mrb, opts, MRB_SYM(allow_nan)));
  cfg->ascii_only = mrb_test(opt(mrb, opts, MRB_SYM(ascii_only)));
  cfg->escape_slash = mrb_test(opt(mrb, opts, MRB_SYM(escape_slash)));
}

mrb_bool
json_state_p(mrb_state *mrb, mrb_value v)
{
  struct RClass *state = mrb_class_get_under(mrb, json_module(mrb), "State");
  return mrb_obj_is_kind_of(mrb, v, state);
}

void
json_config_from_state(mrb_state *mrb, json_config *cfg, mrb_value state)
{
  json_config_defaults(cfg);
#define LAYOUT(field)                                                                      \
  set_layout(mrb, mrb_iv_get(mrb, state, MRB_IVSYM(field)), &cfg->field, &cfg->field##_len);
  LAYOUT(indent)
  LAYOUT(space)
  LAYOUT(space_before)
  LAYOUT(object_nl)
  LAYOUT(array_nl)
#undef LAYOUT
  cfg->max_nesting = int_option(mrb, mrb_iv_get(mrb, state, MRB_IVSYM(max_nesting)));
  cfg->depth = int_option(mrb, mrb_iv_get(mrb, state, MRB_IVSYM(depth)));
  cfg->allow_nan = mrb_test(mrb_iv_get(mrb, state, MRB_IVSYM(allow_nan)));
  cfg->ascii_only = mrb_test(mrb_iv_get(mrb, state, MRB_IVSYM(ascii_only)));
  cfg->escape_slash = mrb_test(mrb_iv_get(mrb, state, MRB_IVSYM(escape_slash)));
}

void
json_config_to_state(mrb_state *mrb, const json_config *cfg, mrb_value state)
{
#define LAYOUT(field) \
  mrb_iv_set(mrb, state, MRB_IVSYM(field), mrb_str_new(mrb, cfg->field, cfg->field##_len));
  LAYOUT(indent)
  LAYOUT(space)
  LAYOUT(space_before)
  LAYOUT(object_nl)
  LAYOUT(array_nl)
#undef LAYOUT
  mrb_iv_set(mrb, state, MRB_IVSYM(max_nesting), mrb_int_value(mrb, cfg->max_nesting));
  mrb_iv_set(mrb, state, MRB_IVSYM(depth), mrb_int_value(mrb, cfg->depth));
  mrb_iv_set(mrb, state, MRB_IVSYM(allow_nan), mrb_bool_value(cfg->allow_nan));
  mrb_iv_set(mrb, state, MRB_IVSYM(ascii_only), mrb_bool_value(cfg->ascii_only));
  mrb_iv_set(mrb, state, MRB_IVSYM(escape_slash), mrb_bool_value(cfg->escape_slash));
}

mrb_value
json_state_new(mrb_state *mrb, const json_config *cfg)
{
  struct RClass *klass = mrb_class_get_under(mrb, json_module(mrb), "State");
  mrb_value state = mrb_obj_value(mrb_obj_alloc(mrb, MRB_TT_OBJECT, klass));
  json_config_to_state(mrb, cfg, state);
  return state;
}

/* State#configure(opts) -> self */
static mrb_value
state_configure(mrb_state *mrb, mrb_value self)
{
  mrb_value opts;
  json_config cfg;
  mrb_get_args(mrb, "o", &opts);
  json_config_from_state(mrb, &cfg, self);
  json_config_apply(mrb, &cfg, opts);
  json_config_to_state(mrb, &cfg, self);
  return self;
}

/* State#initialize(opts = nil) */
static mrb_value
state_initialize(mrb_state *mrb, mrb_value self)
{
  mrb_value opts = mrb_nil_value();
  json_config cfg;
  mrb_get_args(mrb, "|o", &opts);
  json_config_defaults(&cfg);
  if (!mrb_nil_p(opts)) json_config_apply(mrb, &cfg, opts);
  json_config_to_state(mrb, &cfg, self);
  return self;
}

/* JSON.generate(obj, opts = nil): opts is a JSON::State or an options Hash. */
static mrb_value
json_m_generate(mrb_state *mrb, mrb_value self)
{
  mrb_value obj, opts = mrb_nil_value();
  json_config cfg;
  mrb_get_args(mrb, "o|o", &obj, &opts);
  mrb_value state = mrb_nil_value();
  if (mrb_nil_p(opts)) {
    json_config_defaults(&cfg);
  }
  else if (json_state_p(mrb, opts)) {
    state = opts;
    json_config_from_state(mrb, &cfg, state);
  }
  else {
    json_config_defaults(&cfg);
    json_config_apply(mrb, &cfg, opts);
  }
  return json_generate(mrb, obj, &cfg, state);
}

/* State#generate(obj) */
static mrb_value
state_generate(mrb_state *mrb, mrb_value self)
{
  mrb_value obj;
  json_config cfg;
  mrb_get_args(mrb, "o", &obj);
  json_config_from_state(mrb, &cfg, self);
  return json_generate(mrb, obj, &cfg, self);
}

/* to_json(state = nil, *): Hash, Array, String, Integer, Float, nil, true, false */
static mrb_value
core_to_json(mrb_state *mrb, mrb_value self)
{
  mrb_value state = mrb_nil_value();
  mrb_value *rest;
  mrb_int nrest;
  mrb_get_args(mrb, "|o*", &state, &rest, &nrest);
  return json_to_json(mrb, self, state, FALSE);
}

/* Object#to_json(state = nil, *): to_s as a JSON string */
static mrb_value
object_to_json(mrb_state *mrb, mrb_value self)
{
  mrb_value state = mrb_nil_value();
  mrb_value *rest;
  mrb_int nrest;
  mrb_get_args(mrb, "|o*", &state, &rest, &nrest);
  return json_to_json(mrb, self, state, TRUE);
}

static const char *
implicit_name(mrb_state *mrb, mrb_value v)
{
  if (mrb_nil_p(v)) return "nil";
  if (mrb_true_p(v)) return "true";
  if (mrb_false_p(v)) return "false";
  return mrb_obj_classname(mrb, v);
}

static void
parse_options(mrb_state *mrb, mrb_value opts, json_parse_options *po)
{
  po->max_nesting = 100;
  po->symbolize_names = po->allow_nan = po->freeze = FALSE;
  if (mrb_nil_p(opts)) return;
  opts = to_hash(mrb, opts);
  if (!mrb_hash_p(opts)) mrb_raise(mrb, E_TYPE_ERROR, "options must be a Hash");
  if (opt_given(mrb, opts, MRB_SYM(max_nesting))) {
    po->max_nesting = int_option(mrb, opt(mrb, opts, MRB_SYM(max_nesting)));
  }
  po->allow_nan = mrb_test(opt(mrb, opts, MRB_SYM(allow_nan)));
  po->symbolize_names = mrb_test(opt(mrb, opts, MRB_SYM(symbolize_names)));
  po->freeze = mrb_test(opt(mrb, opts, MRB_SYM(freeze)));
}

/* JSON.parse(source, opts = nil) */
static mrb_value
json_m_parse(mrb_state *mrb, mrb_value self)
{
  mrb_value source, opts = mrb_nil_value();
  json_parse_options po;
  mrb_get_args(mrb, "o|o", &source, &opts);
  if (!mrb_string_p(source)) {
    if (!mrb_respond_to(mrb, source, MRB_SYM(to_str))) {
      mrb_raisef(mrb, E_TYPE_ERROR, "no implicit conversion of %s into String",
                 implicit_name(mrb, source));
    }
    source = json_call(mrb, source, MRB_SYM(to_str), 0, NULL);
    mrb_gc_protect(mrb, source); /* only this frame refers to it while parsing allocates */
    if (!mrb_string_p(source)) mrb_raise(mrb, E_TYPE_ERROR, "to_str did not return a String");
  }
  parse_options(mrb, opts, &po);
  return json_parse(mrb, source, &po);
}

void
mrb_mruby_kobako_json_gem_init(mrb_state *mrb)
{
  struct RClass *json = mrb_define_module_id(mrb, MRB_SYM(JSON));
  struct RClass *base = mrb_define_class_under_id(mrb, json, MRB_SYM(JSONError), E_STANDARD_ERROR);
  struct RClass *parser = mrb_define_class_under_id(mrb, json, MRB_SYM(ParserError), base);
  mrb_define_class_under_id(mrb, json, MRB_SYM(NestingError), parser);
  struct RClass *gen = mrb_define_class_under_id(mrb, json, MRB_SYM(GeneratorError), base);
  mrb_define_const_id(mrb, json, MRB_SYM(UnparserError), mrb_obj_value(gen));

  /* json 2.6 names it JSON::Ext::Generator::State; JSON::State is an alias */
  struct RClass *ext = mrb_define_module_under_id(mrb, json, MRB_SYM(Ext));
  struct RClass *generator = mrb_define_module_under_id(mrb, ext, MRB_SYM(Generator));
  struct RClass *state = mrb_define_class_under_id(mrb, generator, MRB_SYM(State), mrb->object_class);
  mrb_define_const_id(mrb, json, MRB_SYM(State), mrb_obj_value(state));
  mrb_define_method_id(mrb, state, MRB_SYM(initialize), state_initialize, MRB_ARGS_OPT(1));
  mrb_define_method_id(mrb, state, MRB_SYM(configure), state_configure, MRB_ARGS_REQ(1));
  mrb_define_method_id(mrb, state, MRB_SYM(generate), state_generate, MRB_ARGS_REQ(1));

  mrb_define_module_function_id(mrb, json, MRB_SYM(generate), json_m_generate, MRB_ARGS_ARG(1, 1));
  mrb_define_module_function_id(mrb, json, MRB_SYM(parse), json_m_parse, MRB_ARGS_ARG(1, 1));

  struct RClass *core[] = {mrb->hash_class, mrb->array_class, mrb->string_class,
                           mrb->integer_class, mrb->float_class, mrb->nil_class,
                           mrb->true_class, mrb->false_class};
  for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
    mrb_define_method_id(mrb, core[i], MRB_SYM(to_json), core_to_json, MRB_ARGS_ANY());
  }
  mrb_define_method_id(mrb, mrb->object_class, MRB_SYM(to_json), object_to_json, MRB_ARGS_ANY());
}

void
mrb_mruby_kobako_json_gem_final(mrb_state *mrb)
{
}
