/* Internals shared by the JSON gem's parts: the module and error classes,
 * the generator's options, and the C stack guard. */
#ifndef KOBAKO_JSON_H
#define KOBAKO_JSON_H

#include <mruby.h>

/* Options of one generation, read from a JSON::State or an options Hash.
 * The layout strings point into Strings this struct's owner keeps alive. */
typedef struct {
  const char *indent, *space, *space_before, *object_nl, *array_nl;
  mrb_int indent_len, space_len, space_before_len, object_nl_len, array_nl_len;
  mrb_int max_nesting; /* 0: unlimited (only the C stack bounds it) */
  mrb_int depth;
  mrb_bool allow_nan, ascii_only, escape_slash;
} json_config;

void json_config_defaults(json_config *cfg);
/* Applies an options Hash the way State#configure does; copies of its
 * strings are pushed onto roots to keep them alive. */
void json_config_apply(mrb_state *mrb, json_config *cfg, mrb_value opts, mrb_value roots);
void json_config_from_state(mrb_state *mrb, json_config *cfg, mrb_value state, mrb_value roots);
void json_config_to_state(mrb_state *mrb, const json_config *cfg, mrb_value state);
mrb_value json_state_new(mrb_state *mrb, const json_config *cfg);
mrb_bool json_state_p(mrb_state *mrb, mrb_value v);

/* Generates obj under cfg. state is the JSON::State custom to_json methods
 * receive, or nil to make one on first need. */
mrb_value json_generate(mrb_state *mrb, mrb_value obj, json_config *cfg, mrb_value state,
                        mrb_value roots);
/* Generates obj the way obj.to_json(state_arg) does on a core class; to_s
 * says to generate obj.to_s as a string (Object#to_json). */
mrb_value json_to_json(mrb_state *mrb, mrb_value obj, mrb_value state_arg, mrb_bool to_s);

typedef struct {
  mrb_int max_nesting; /* 0: unlimited */
  mrb_bool symbolize_names, allow_nan, freeze;
} json_parse_options;

mrb_value json_parse(mrb_state *mrb, mrb_value source, const json_parse_options *opts);

struct RClass *json_error_class(mrb_state *mrb, const char *name);
/* Raises SystemStackError when the C stack is nearly used up: nesting
 * allowed by max_nesting: false must end in an error, never a trap. */
void json_check_stack(mrb_state *mrb);

#endif
