/* String methods written in C by mruby that CRuby also lets take a Regexp.
 *
 * Each keeps its C fast path: a wrapper looks at the arguments, sends the call to
 * the Regexp version in mrblib/string.rb when one is a Regexp, and otherwise runs
 * mruby's own function on the same call frame (it reads the arguments itself).
 */
#include <mruby.h>
#include <mruby/class.h>
#include <mruby/proc.h>

static struct RClass *regexp_class;

static mrb_bool any_regexp(mrb_state *mrb, mrb_int from) {
  mrb_int argc = mrb_get_argc(mrb);
  const mrb_value *argv = mrb_get_argv(mrb);
  for (mrb_int i = from; i < argc; i++) {
    if (mrb_obj_is_kind_of(mrb, argv[i], regexp_class)) return TRUE;
  }
  return FALSE;
}

static mrb_value to_ruby(mrb_state *mrb, mrb_value self, const char *name) {
  const mrb_value *argv;
  mrb_int argc;
  mrb_value block;
  mrb_get_args(mrb, "*&", &argv, &argc, &block);
  return mrb_funcall_with_block(mrb, self, mrb_intern_cstr(mrb, name), argc, argv, block);
}

/* One wrapper per method: mruby's function pointers carry no closure. `scan` is
 * how many leading arguments may be a Regexp (all of them for start_with?). */
#define REGEXP_AWARE(fn, scan_all)                                                  \
  static mrb_func_t fn##_plain;                                                      \
  static mrb_value fn(mrb_state *mrb, mrb_value self) {                              \
    mrb_int argc = mrb_get_argc(mrb);                                                \
    mrb_bool re = scan_all ? any_regexp(mrb, 0)                                      \
                           : argc > 0 && mrb_obj_is_kind_of(mrb, mrb_get_argv(mrb)[0], regexp_class); \
    return re ? to_ruby(mrb, self, "__" #fn) : fn##_plain(mrb, self);                \
  }

REGEXP_AWARE(aref_regexp, FALSE)
REGEXP_AWARE(index_regexp, FALSE)
REGEXP_AWARE(rindex_regexp, FALSE)
REGEXP_AWARE(split_regexp, FALSE)
REGEXP_AWARE(start_with_regexp, TRUE)

static void wrap(mrb_state *mrb, const char *name, mrb_func_t wrapper, mrb_func_t *plain) {
  struct RClass *s = mrb->string_class;
  mrb_method_t m = mrb_method_search(mrb, s, mrb_intern_cstr(mrb, name));
  *plain = MRB_METHOD_CFUNC(m);
  if (!*plain) mrb_raisef(mrb, E_RUNTIME_ERROR, "String#%s is not a C method", name);
  mrb_define_method(mrb, s, name, wrapper, MRB_ARGS_ANY());
}

void kobako_regexp_string_init(mrb_state *mrb) {
  regexp_class = mrb_class_get(mrb, "Regexp");
  wrap(mrb, "[]", aref_regexp, &aref_regexp_plain);
  wrap(mrb, "slice", aref_regexp, &aref_regexp_plain);
  wrap(mrb, "index", index_regexp, &index_regexp_plain);
  wrap(mrb, "rindex", rindex_regexp, &rindex_regexp_plain);
  wrap(mrb, "split", split_regexp, &split_regexp_plain);
  wrap(mrb, "start_with?", start_with_regexp, &start_with_regexp_plain);
}
