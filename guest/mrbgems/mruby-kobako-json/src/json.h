/* Internals shared by the JSON gem's parts: the module and error classes,
 * the generator's options, and the C stack guard. */
#ifndef KOBAKO_JSON_H
#define KOBAKO_JSON_H

#include <mruby.h>

/* Options of one generation, read from a JSON::State or an options Hash.
 * The layout strings point into scratch memory (kobako.h) that lives while
 * the C method that filled the struct runs. */
typedef struct {
  const char *indent, *space, *space_before, *object_nl, *array_nl;
  mrb_int indent_len, space_len, space_before_len, object_nl_len, array_nl_len;
  mrb_int max_nesting; /* 0: unlimited (only the C stack bounds it) */
  mrb_int depth;
  mrb_bool allow_nan, ascii_only, escape_slash;
} json_config;

void json_config_defaults(json_config *cfg);
/* Applies an options Hash the way State#configure does. */
void json_config_apply(mrb_state *mrb, json_config *cfg, mrb_value opts);
void json_config_from_state(mrb_state *mrb, json_config *cfg, mrb_value state);
void json_config_to_state(mrb_state *mrb, const json_config *cfg, mrb_value state);
mrb_value json_state_new(mrb_state *mrb, const json_config *cfg);
mrb_bool json_state_p(mrb_state *mrb, mrb_value v);

/* Generates obj under cfg. state is the JSON::State custom to_json methods
 * receive, or nil to make one on first need. */
mrb_value json_generate(mrb_state *mrb, mrb_value obj, json_config *cfg, mrb_value state);
/* Generates obj the way obj.to_json(state_arg) does on a core class; to_s
 * says to generate obj.to_s as a string (Object#to_json). */
mrb_value json_to_json(mrb_state *mrb, mrb_value obj, mrb_value state_arg, mrb_bool to_s);

typedef struct {
  mrb_int max_nesting; /* 0: unlimited */
  mrb_bool symbolize_names, allow_nan, freeze;
} json_parse_options;

mrb_value json_parse(mrb_state *mrb, mrb_value source, const json_parse_options *opts);

struct RClass *json_error_class(mrb_state *mrb, const char *name);

/* Recursion budget. wasmtime gives the guest 2 MiB of native stack, and
 * running out is a trap that ends the run, so nesting that max_nesting: false
 * lets through must stop at a budget instead, with SystemStackError as CRuby
 * raises. Measured native cost: ~650 bytes per Hash level generated (arrays
 * and the parser about half that), ~3.3 KB per nested to_json call; 1500
 * units keep JSON under about 1 MiB. */
#define JSON_STACK_BUDGET 1500
#define JSON_CUSTOM_CALL_UNITS 5

/* Units held by JSON calls further out (a to_json method that generates or
 * parses JSON itself); changed only around to_json calls, under mrb_ensure. */
extern int json_stack_units;

/* obj.mid(*argv), holding units of the budget while it runs: every call
 * from JSON's C code into Ruby goes through here, since the method may call
 * JSON again. Raises SystemStackError when units exceed the budget. */
mrb_value json_funcall(mrb_state *mrb, int units, mrb_value obj, mrb_sym mid, mrb_int argc,
                       const mrb_value *argv);
/* json_funcall from outside a generator: the call is all it adds. */
mrb_value json_call(mrb_state *mrb, mrb_value obj, mrb_sym mid, mrb_int argc, const mrb_value *argv);

/* Raises SystemStackError ("stack level too deep"). */
mrb_noreturn void json_stack_exhausted(mrb_state *mrb);
/* Raises SystemStackError when the C shadow stack is nearly used up too. */
void json_check_stack(mrb_state *mrb);

#endif
