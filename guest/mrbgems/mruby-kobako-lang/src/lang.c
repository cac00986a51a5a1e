/* Runtime helpers for CRuby behaviour that mruby's parser and VM lack. */
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/error.h>
#include <mruby/internal.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include <mruby/variable.h>

/* defined?(super): the parser (guest/patches/50) turns it into a call of this
 * helper, which looks at the calling frame: its method name and the class that
 * method was defined in, and answers "super" when a class above has the method. */
static mrb_value
lang_defined_super(mrb_state *mrb, mrb_value self)
{
  mrb_callinfo *ci = mrb->c->ci - 1;
  if (ci < mrb->c->cibase || ci->mid == 0) return mrb_nil_value();
  struct RClass *target = mrb_vm_ci_target_class(ci);
  if (!target || !target->super) return mrb_nil_value();
  struct RClass *cls = target->super;
  mrb_method_t m = mrb_method_search_vm(mrb, &cls, ci->mid);
  if (MRB_METHOD_UNDEF_P(m)) return mrb_nil_value();
  return mrb_str_new_lit(mrb, "super");
}

#define CAUSE_IV "__cause__" /* not an @name: hidden from instance_variables */

/* Kernel#raise as CRuby has it: raise, raise msg, raise Class[, msg[, backtrace]],
 * and cause: (by default the exception being handled, $!). */
static mrb_value
lang_raise(mrb_state *mrb, mrb_value self)
{
  mrb_value a[3], cause = mrb_undef_value();
  mrb_sym kname = mrb_intern_lit(mrb, "cause");
  const mrb_kwargs kw = {1, 0, &kname, &cause, NULL};
  mrb_int argc = mrb_get_args(mrb, "|ooo:", &a[0], &a[1], &a[2], &kw);
  mrb_value current = mrb_gv_get(mrb, mrb_intern_lit(mrb, "$!"));
  mrb_value exc;

  mrb->c->ci->mid = 0; /* keep this frame out of the backtrace, as mruby's own raise */
  if (argc == 0) {
    if (mrb_exception_p(current)) mrb_exc_raise(mrb, current);
    exc = mrb_exc_new_lit(mrb, E_RUNTIME_ERROR, ""); /* CRuby: an empty message */
  }
  else if (argc == 1 && mrb_string_p(a[0])) {
    exc = mrb_exc_new_str(mrb, E_RUNTIME_ERROR, a[0]);
  }
  else {
    exc = mrb_make_exception(mrb, a[0], argc > 1 ? a[1] : mrb_nil_value());
  }
  if (argc == 3 && !mrb_nil_p(a[2])) {
    mrb_value bt = mrb_string_p(a[2]) ? mrb_ary_new_from_values(mrb, 1, &a[2]) : a[2];
    mrb_funcall_id(mrb, exc, mrb_intern_lit(mrb, "set_backtrace"), 1, bt);
  }
  if (mrb_undef_p(cause)) {
    cause = current;
    if (mrb_iv_defined(mrb, exc, mrb_intern_lit(mrb, CAUSE_IV))) cause = mrb_undef_value();
  }
  else if (!mrb_nil_p(cause) && !mrb_exception_p(cause)) {
    mrb_raise(mrb, E_TYPE_ERROR, "exception object expected");
  }
  if (!mrb_undef_p(cause) && !mrb_obj_equal(mrb, cause, exc) && !mrb_frozen_p(mrb_obj_ptr(exc))) {
    mrb_iv_set(mrb, exc, mrb_intern_lit(mrb, CAUSE_IV), cause);
  }
  mrb_exc_raise(mrb, exc);
  return mrb_nil_value(); /* not reached */
}

static mrb_value
exc_cause(mrb_state *mrb, mrb_value self)
{
  return mrb_iv_get(mrb, self, mrb_intern_lit(mrb, CAUSE_IV));
}

void kobako_lang_string_init(mrb_state *mrb);

void
mrb_mruby_kobako_lang_gem_init(mrb_state *mrb)
{
  struct RClass *k = mrb->kernel_module;
  mrb_define_method(mrb, k, "__kobako_defined_super", lang_defined_super, MRB_ARGS_NONE());
  mrb_define_method(mrb, k, "raise", lang_raise, MRB_ARGS_OPT(3));
  mrb_define_method(mrb, k, "fail", lang_raise, MRB_ARGS_OPT(3));
  mrb_define_class_method(mrb, k, "raise", lang_raise, MRB_ARGS_OPT(3));
  mrb_define_method(mrb, mrb->eException_class, "cause", exc_cause, MRB_ARGS_NONE());
  kobako_lang_string_init(mrb);
}

void
mrb_mruby_kobako_lang_gem_final(mrb_state *mrb)
{
  (void)mrb;
}
