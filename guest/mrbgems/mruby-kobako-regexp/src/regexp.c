/* Regexp on Oniguruma: compile, search, and the primitives mrblib/regexp.rb builds on.
 *
 * Offsets cross this boundary in bytes (Oniguruma's unit); the Ruby side converts
 * to characters where CRuby's API speaks in characters. Strings are checked to be
 * valid UTF-8 before Oniguruma sees them, as CRuby does.
 */
#include <string.h>
#include <mruby.h>
#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>
#include <oniguruma.h>
#include "kobako.h"

void kobako_regexp_string_init(mrb_state *mrb);
/* mruby's preallocated NoMemoryError (src/gc.c; declared only in mruby/khash.h) */
mrb_noreturn void mrb_raise_nomemory(mrb_state *mrb);

/* Backtracking budget per match and per search: a catastrophic pattern fails with
 * Regexp::TimeoutError long before a run's timeout (about 0.1-1 s of wasm). */
#define RETRY_LIMIT_IN_MATCH 2000000UL
#define RETRY_LIMIT_IN_SEARCH 20000000UL

/* Ruby's option bits, which are also Oniguruma's. */
#define RE_OPTION_MASK (ONIG_OPTION_IGNORECASE | ONIG_OPTION_EXTEND | ONIG_OPTION_MULTILINE)
/* In Ruby \w, \d, \s and \b are ASCII-only; POSIX brackets and \p{} are Unicode. */
#define RE_ASCII_CLASSES (ONIG_OPTION_WORD_IS_ASCII | ONIG_OPTION_DIGIT_IS_ASCII | ONIG_OPTION_SPACE_IS_ASCII)

static mrb_int chars_in(const char *s, mrb_int n);

static void re_free(mrb_state *mrb, void *p) {
  (void)mrb;
  if (p) onig_free((regex_t *)p);
}

static const struct mrb_data_type re_type = {"Regexp", re_free};

/* One region, reused by every search: Oniguruma grows it as needed. */
static OnigRegion *region;

static regex_t *re_get(mrb_state *mrb, mrb_value self) {
  regex_t *reg = (regex_t *)mrb_data_get_ptr(mrb, self, &re_type);
  if (!reg) mrb_raise(mrb, E_TYPE_ERROR, "uninitialized Regexp");
  return reg;
}

/* Set on a frozen String once it is found to be valid UTF-8: a frozen String's
 * bytes never change, and no Ruby operation sets or copies this flag, so a
 * snapshot that gsub/scan search many times is checked once. */
#define STR_UTF8_CHECKED (1 << 17)

/* Every subject goes through here before Oniguruma sees it, whichever method
 * (public or mrblib's __ helpers) it came in by. */
static void check_utf8(mrb_state *mrb, mrb_value str) {
  struct RString *s = mrb_str_ptr(str);
  if (mrb_frozen_p(s) && (s->flags & STR_UTF8_CHECKED)) return;
  if (!kobako_utf8_valid((const uint8_t *)RSTRING_PTR(str), (uint32_t)RSTRING_LEN(str)))
    mrb_raise(mrb, E_ARGUMENT_ERROR, "invalid byte sequence in UTF-8");
  if (mrb_frozen_p(s)) s->flags |= STR_UTF8_CHECKED;
}

static struct RClass *regexp_error(mrb_state *mrb) {
  return mrb_class_get(mrb, "RegexpError");
}

/* Regexp#__compile(source, options): compiles into self. Raises RegexpError. */
static mrb_value re_compile(mrb_state *mrb, mrb_value self) {
  mrb_value src;
  mrb_int opts;
  mrb_get_args(mrb, "Si", &src, &opts);
  if (mrb_frozen_p(mrb_basic_ptr(self))) mrb_raise(mrb, E_FROZEN_ERROR, "can't modify frozen Regexp");
  check_utf8(mrb, src);
  regex_t *old = (regex_t *)DATA_PTR(self);
  if (old) {
    DATA_PTR(self) = NULL;
    onig_free(old);
  }
  DATA_TYPE(self) = &re_type;

  regex_t *reg;
  OnigErrorInfo einfo;
  const UChar *p = (const UChar *)RSTRING_PTR(src);
  int r = onig_new(&reg, p, p + RSTRING_LEN(src), (OnigOptionType)(opts & RE_OPTION_MASK) | RE_ASCII_CLASSES,
                   ONIG_ENCODING_UTF8, ONIG_SYNTAX_RUBY, &einfo);
  if (r == ONIGERR_MEMORY) mrb_raise_nomemory(mrb);
  if (r != ONIG_NORMAL) {
    UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, r, &einfo);
    mrb_raisef(mrb, regexp_error(mrb), "%s: /%v/", (const char *)msg, src);
  }
  DATA_PTR(self) = reg;
  return self;
}

/* Searches str from byte start (backward down to 0 if !forward) into `region`.
 * Returns the match position or ONIG_MISMATCH; raises on engine errors. */
static int search(mrb_state *mrb, regex_t *reg, mrb_value str, mrb_int start, mrb_bool forward) {
  const UChar *s = (const UChar *)RSTRING_PTR(str);
  mrb_int len = RSTRING_LEN(str);
  if (start < 0 || start > len) return ONIG_MISMATCH;
  if (start < len && (s[start] & 0xc0) == 0x80) return ONIG_MISMATCH; /* not a character's start */
  const UChar *range = forward ? s + len : s;
  int r = onig_search(reg, s, s + len, s + start, range, region, ONIG_OPTION_NONE);
  if (r >= 0 || r == ONIG_MISMATCH) return r;
  if (r == ONIGERR_RETRY_LIMIT_IN_MATCH_OVER || r == ONIGERR_RETRY_LIMIT_IN_SEARCH_OVER) {
    struct RClass *timeout = mrb_class_get_under(mrb, mrb_class_get(mrb, "Regexp"), "TimeoutError");
    mrb_raise(mrb, timeout, "regexp match timeout");
  }
  if (r == ONIGERR_MEMORY) mrb_raise_nomemory(mrb);
  UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
  onig_error_code_to_str(msg, r);
  mrb_raisef(mrb, regexp_error(mrb), "%s", (const char *)msg);
  return r; /* not reached */
}

/* The last search's groups as [beg0, end0, beg1, end1, ...]; unmatched groups are -1. */
static mrb_value region_offsets(mrb_state *mrb) {
  mrb_value offsets = mrb_ary_new_capa(mrb, region->num_regs * 2);
  for (int i = 0; i < region->num_regs; i++) {
    mrb_ary_push(mrb, offsets, mrb_fixnum_value(region->beg[i]));
    mrb_ary_push(mrb, offsets, mrb_fixnum_value(region->end[i]));
  }
  return offsets;
}

/* The byte offset just past the character at byte b (b + 1 at the end). */
static mrb_int char_after(mrb_value str, mrb_int b) {
  if (b >= RSTRING_LEN(str)) return b + 1;
  unsigned char lead = (unsigned char)RSTRING_PTR(str)[b];
  return b + (lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4);
}

/* Where the next global search starts after the match in `region`. */
static mrb_int next_start(mrb_value str) {
  return region->end[0] == region->beg[0] ? char_after(str, region->end[0]) : region->end[0];
}

/* Regexp#__search(str, byte_start, forward) -> offsets (see region_offsets) or nil. */
static mrb_value re_search(mrb_state *mrb, mrb_value self) {
  mrb_value str;
  mrb_int start;
  mrb_bool forward;
  mrb_get_args(mrb, "Sib", &str, &start, &forward);
  check_utf8(mrb, str);
  if (search(mrb, re_get(mrb, self), str, start, forward) == ONIG_MISMATCH) return mrb_nil_value();
  return region_offsets(mrb);
}

/* Redoes the search that started at `start` so `region` holds it again. */
static mrb_value last_offsets(mrb_state *mrb, regex_t *reg, mrb_value str, mrb_int start) {
  if (start < 0) return mrb_nil_value();
  search(mrb, reg, str, start, TRUE);
  return region_offsets(mrb);
}

/* Regexp#__scan(str) -> [matches, offsets of the last match or nil], for scan without
 * a block: each match is the matched text, or its groups when there are groups. */
static mrb_value re_scan(mrb_state *mrb, mrb_value self) {
  mrb_value str;
  mrb_get_args(mrb, "S", &str);
  check_utf8(mrb, str); /* once: nothing below runs Ruby code */
  regex_t *reg = re_get(mrb, self);
  mrb_value found = mrb_ary_new(mrb);
  mrb_int pos = 0, last = -1;
  int arena = mrb_gc_arena_save(mrb);
  while (search(mrb, reg, str, pos, TRUE) != ONIG_MISMATCH) {
    const char *s = RSTRING_PTR(str);
    mrb_value item;
    if (region->num_regs == 1) {
      item = mrb_str_new(mrb, s + region->beg[0], region->end[0] - region->beg[0]);
    }
    else {
      item = mrb_ary_new_capa(mrb, region->num_regs - 1);
      for (int i = 1; i < region->num_regs; i++) {
        mrb_ary_push(mrb, item, region->beg[i] < 0 ? mrb_nil_value()
                                : mrb_str_new(mrb, s + region->beg[i], region->end[i] - region->beg[i]));
      }
    }
    mrb_ary_push(mrb, found, item);
    mrb_gc_arena_restore(mrb, arena);
    last = pos;
    pos = next_start(str);
  }
  mrb_value pair[2] = {found, last_offsets(mrb, reg, str, last)};
  return mrb_ary_new_from_values(mrb, 2, pair);
}

/* Regexp#__replace(str, replacement, global) -> [result, offsets of the last match or
 * nil], for sub/gsub with a replacement that has no backslash escapes. */
static mrb_value re_replace(mrb_state *mrb, mrb_value self) {
  mrb_value str, repl;
  mrb_bool global;
  mrb_get_args(mrb, "SSb", &str, &repl, &global);
  check_utf8(mrb, str); /* once: nothing below runs Ruby code */
  regex_t *reg = re_get(mrb, self);
  mrb_value out = mrb_str_new_capa(mrb, RSTRING_LEN(str));
  mrb_int pos = 0, copied = 0, last = -1, len = RSTRING_LEN(str);
  while (search(mrb, reg, str, pos, TRUE) != ONIG_MISMATCH) {
    mrb_int beg = region->beg[0], end = region->end[0];
    mrb_str_cat(mrb, out, RSTRING_PTR(str) + copied, beg - copied);
    mrb_str_cat_str(mrb, out, repl);
    copied = end;
    last = pos;
    if (!global) break;
    pos = next_start(str);
    if (end == beg && end < len) {
      mrb_int upto = pos > len ? len : pos;
      mrb_str_cat(mrb, out, RSTRING_PTR(str) + end, upto - end);
      copied = upto;
    }
  }
  if (copied < len) mrb_str_cat(mrb, out, RSTRING_PTR(str) + copied, len - copied);
  mrb_value pair[2] = {out, last_offsets(mrb, reg, str, last)};
  return mrb_ary_new_from_values(mrb, 2, pair);
}

static struct RClass *match_data_class;

/* MatchData.__new(regexp, str, offsets): a MatchData over a frozen copy of str (CRuby
 * keeps one too), made in C because gsub with a block makes one per match. */
static mrb_value new_match_data(mrb_state *mrb, mrb_value re, mrb_value str, mrb_value offsets) {
  if (!mrb_frozen_p(mrb_basic_ptr(str))) str = mrb_obj_freeze(mrb, mrb_str_dup(mrb, str));
  mrb_value m = mrb_obj_value(mrb_obj_alloc(mrb, MRB_TT_OBJECT, match_data_class));
  mrb_iv_set(mrb, m, mrb_intern_lit(mrb, "@regexp"), re);
  mrb_iv_set(mrb, m, mrb_intern_lit(mrb, "@string"), str);
  mrb_iv_set(mrb, m, mrb_intern_lit(mrb, "@offsets"), offsets);
  return m;
}

static mrb_value match_data_new(mrb_state *mrb, mrb_value klass) {
  (void)klass;
  mrb_value re, str, offsets;
  mrb_get_args(mrb, "oSA", &re, &str, &offsets);
  return new_match_data(mrb, re, str, offsets);
}

static mrb_sym sym_last_match;

/* The subject of match/=~/match?: a String, a Symbol's name, or to_str's result;
 * nil stays nil. Raises TypeError otherwise. */
static mrb_value subject_of(mrb_state *mrb, mrb_value obj) {
  if (mrb_string_p(obj) || mrb_nil_p(obj)) return obj;
  if (mrb_symbol_p(obj)) return mrb_sym_str(mrb, mrb_symbol(obj));
  if (mrb_respond_to(mrb, obj, mrb_intern_lit(mrb, "to_str"))) {
    mrb_value str = mrb_funcall_id(mrb, obj, mrb_intern_lit(mrb, "to_str"), 0);
    if (mrb_string_p(str)) return str;
  }
  mrb_raisef(mrb, E_TYPE_ERROR, "no implicit conversion of %C into String", mrb_obj_class(mrb, obj));
  return obj; /* not reached */
}

/* Byte offset of character position pos (negative counts from the end), or -1. */
static mrb_int byte_pos(mrb_value str, mrb_int pos) {
  if (pos == 0) return 0;
  const char *s = RSTRING_PTR(str);
  mrb_int len = RSTRING_LEN(str);
  if (pos < 0) {
    pos += chars_in(s, len);
    if (pos < 0) return -1;
  }
  mrb_int i = 0;
  for (; i < len && pos > 0; pos--) {
    i++;
    while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80) i++;
  }
  return pos > 0 ? -1 : i;
}

/* The match of self in str from character position pos, or nil; sets $~ if asked. */
static mrb_value match_at(mrb_state *mrb, mrb_value self, mrb_value str, mrb_int pos, mrb_bool set) {
  str = subject_of(mrb, str);
  mrb_value m = mrb_nil_value();
  if (!mrb_nil_p(str)) {
    check_utf8(mrb, str);
    mrb_int start = byte_pos(str, pos);
    if (start >= 0 && search(mrb, re_get(mrb, self), str, start, TRUE) != ONIG_MISMATCH) {
      m = new_match_data(mrb, self, str, region_offsets(mrb));
    }
  }
  if (set) mrb_gv_set(mrb, sym_last_match, m);
  return m;
}

/* Regexp#match(str, pos = 0) { |m| } -> MatchData or nil; sets $~. */
static mrb_value re_match(mrb_state *mrb, mrb_value self) {
  mrb_value str, block;
  mrb_int pos = 0;
  mrb_get_args(mrb, "o|i&", &str, &pos, &block);
  mrb_value m = match_at(mrb, self, str, pos, TRUE);
  if (!mrb_nil_p(m) && !mrb_nil_p(block)) return mrb_yield(mrb, block, m);
  return m;
}

/* Regexp#match?(str, pos = 0) -> true/false; leaves $~ alone. */
static mrb_value re_match_p(mrb_state *mrb, mrb_value self) {
  mrb_value str;
  mrb_int pos = 0;
  mrb_get_args(mrb, "o|i", &str, &pos);
  str = subject_of(mrb, str);
  if (mrb_nil_p(str)) return mrb_false_value();
  check_utf8(mrb, str);
  mrb_int start = byte_pos(str, pos);
  return mrb_bool_value(start >= 0 && search(mrb, re_get(mrb, self), str, start, TRUE) != ONIG_MISMATCH);
}

/* Regexp#=~(str) -> character position of the match, or nil; sets $~. */
static mrb_value re_match_op(mrb_state *mrb, mrb_value self) {
  mrb_value m = match_at(mrb, self, mrb_get_arg1(mrb), 0, TRUE);
  if (mrb_nil_p(m)) return m;
  return mrb_fixnum_value(chars_in(RSTRING_PTR(mrb_iv_get(mrb, m, mrb_intern_lit(mrb, "@string"))),
                                   region->beg[0]));
}

static int collect_name(const UChar *name, const UChar *name_end, int ngroups, int *groups,
                        regex_t *reg, void *arg) {
  (void)reg;
  void **ctx = (void **)arg;
  mrb_state *mrb = (mrb_state *)ctx[0];
  mrb_value table = *(mrb_value *)ctx[1];
  mrb_value nums = mrb_ary_new_capa(mrb, ngroups);
  for (int i = 0; i < ngroups; i++) mrb_ary_push(mrb, nums, mrb_fixnum_value(groups[i]));
  mrb_hash_set(mrb, table, mrb_str_new(mrb, (const char *)name, name_end - name), nums);
  return 0;
}

/* Regexp#__name_table -> {"name" => [group numbers]}, in hash order. */
static mrb_value re_names(mrb_state *mrb, mrb_value self) {
  regex_t *reg = re_get(mrb, self);
  mrb_value table = mrb_hash_new(mrb);
  void *ctx[2] = {mrb, &table};
  onig_foreach_name(reg, collect_name, ctx);
  return table;
}

/* Regexp#__groups -> the number of capture groups. */
static mrb_value re_groups(mrb_state *mrb, mrb_value self) {
  return mrb_fixnum_value(onig_number_of_captures(re_get(mrb, self)));
}

/* Character count of str's first n bytes. */
static mrb_int chars_in(const char *s, mrb_int n) {
  mrb_int count = 0;
  for (mrb_int i = 0; i < n; i++) count += ((unsigned char)s[i] & 0xc0) != 0x80;
  return count;
}

/* String#__char_offset(byte_offset) -> character offset. */
static mrb_value str_char_offset(mrb_state *mrb, mrb_value self) {
  mrb_int b;
  mrb_get_args(mrb, "i", &b);
  if (b < 0 || b > RSTRING_LEN(self)) mrb_raise(mrb, E_INDEX_ERROR, "byte offset out of range");
  return mrb_fixnum_value(chars_in(RSTRING_PTR(self), b));
}

/* String#__byte_offset(char_offset) -> byte offset, or nil past the end. Negative
 * offsets count from the end, as CRuby's do. */
static mrb_value str_byte_offset(mrb_state *mrb, mrb_value self) {
  mrb_int c;
  mrb_get_args(mrb, "i", &c);
  const char *s = RSTRING_PTR(self);
  mrb_int len = RSTRING_LEN(self);
  if (c < 0) {
    c += chars_in(s, len);
    if (c < 0) return mrb_nil_value();
  }
  mrb_int i = 0;
  for (; i < len && c > 0; c--) {
    i++;
    while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80) i++;
  }
  return c > 0 ? mrb_nil_value() : mrb_fixnum_value(i);
}

/* String#__check_utf8 -> self; raises ArgumentError on invalid UTF-8. */
static mrb_value str_check_utf8(mrb_state *mrb, mrb_value self) {
  check_utf8(mrb, self);
  return self;
}

/* String#__bytes(beg, end) -> the substring of bytes [beg, end). */
static mrb_value str_bytes(mrb_state *mrb, mrb_value self) {
  mrb_int beg, end;
  mrb_get_args(mrb, "ii", &beg, &end);
  if (beg < 0 || end < beg || end > RSTRING_LEN(self))
    mrb_raise(mrb, E_INDEX_ERROR, "byte range out of range");
  return mrb_str_new(mrb, RSTRING_PTR(self) + beg, end - beg);
}

/* Regexp.__set_last_match(m): sets $~ (the only real match global; $1, $& and the
 * others read it, see patches/30-regexp-refs.patch). */
static mrb_value re_set_last_match(mrb_state *mrb, mrb_value self) {
  (void)self;
  mrb_value m = mrb_get_arg1(mrb);
  mrb_gv_set(mrb, mrb_intern_lit(mrb, "$~"), m);
  return m;
}

void mrb_mruby_kobako_regexp_gem_init(mrb_state *mrb) {
  sym_last_match = mrb_intern_lit(mrb, "$~");
  OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
  onig_initialize(encodings, 1);
  onig_set_retry_limit_in_match(RETRY_LIMIT_IN_MATCH);
  onig_set_retry_limit_in_search(RETRY_LIMIT_IN_SEARCH);
  region = onig_region_new();

  struct RClass *re = mrb_define_class(mrb, "Regexp", mrb->object_class);
  MRB_SET_INSTANCE_TT(re, MRB_TT_CDATA);
  mrb_define_method(mrb, re, "__compile", re_compile, MRB_ARGS_REQ(2));
  mrb_define_method(mrb, re, "__search", re_search, MRB_ARGS_REQ(3));
  mrb_define_method(mrb, re, "__scan", re_scan, MRB_ARGS_REQ(1));
  mrb_define_method(mrb, re, "match", re_match, MRB_ARGS_ARG(1, 1) | MRB_ARGS_BLOCK());
  mrb_define_method(mrb, re, "match?", re_match_p, MRB_ARGS_ARG(1, 1));
  mrb_define_method(mrb, re, "=~", re_match_op, MRB_ARGS_REQ(1));
  mrb_define_method(mrb, re, "__replace", re_replace, MRB_ARGS_REQ(3));
  mrb_define_method(mrb, re, "__name_table", re_names, MRB_ARGS_NONE());
  mrb_define_method(mrb, re, "__groups", re_groups, MRB_ARGS_NONE());
  mrb_define_class_method(mrb, re, "__set_last_match", re_set_last_match, MRB_ARGS_REQ(1));

  match_data_class = mrb_define_class(mrb, "MatchData", mrb->object_class);
  mrb_define_class_method(mrb, match_data_class, "__new", match_data_new, MRB_ARGS_REQ(3));

  struct RClass *str = mrb->string_class;
  mrb_define_method(mrb, str, "__char_offset", str_char_offset, MRB_ARGS_REQ(1));
  mrb_define_method(mrb, str, "__byte_offset", str_byte_offset, MRB_ARGS_REQ(1));
  mrb_define_method(mrb, str, "__check_utf8", str_check_utf8, MRB_ARGS_NONE());
  mrb_define_method(mrb, str, "__bytes", str_bytes, MRB_ARGS_REQ(2));
  kobako_regexp_string_init(mrb);
}

void mrb_mruby_kobako_regexp_gem_final(mrb_state *mrb) { (void)mrb; }
