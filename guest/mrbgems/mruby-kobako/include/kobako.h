/* Interfaces between the kobako guest's parts: the byte buffer, output capture,
 * and the msgpack value codec. */
#ifndef KOBAKO_H
#define KOBAKO_H

#include <stdint.h>
#include <stddef.h>
#include <mruby.h>

/* A growable byte buffer. Allocation failure is reported, never aborts. */
typedef struct {
  uint8_t *data;
  uint32_t len;
  uint32_t cap;
  uint8_t failed; /* an allocation failed: the contents are incomplete */
} kobako_buf;

void kobako_buf_put(kobako_buf *b, const void *src, uint32_t n);
void kobako_buf_byte(kobako_buf *b, uint8_t byte);
void kobako_buf_free(kobako_buf *b);

/* Output capture: index 0 is $stdout, 1 is $stderr. */
enum { KOBAKO_STDOUT = 0, KOBAKO_STDERR = 1 };
typedef struct {
  kobako_buf buf;
  uint32_t limit;
  uint8_t truncated;
} kobako_stream;

kobako_stream *kobako_stream_get(int index);
void kobako_output_reset(uint32_t stdout_limit, uint32_t stderr_limit);

/* The codec. Nesting deeper than this is refused in both directions. */
#define KOBAKO_MAX_DEPTH 128

/* msgpack ext type codes shared with the host (src/kobako_async/_codec.py). */
enum { KOBAKO_EXT_BIGINT = 1, KOBAKO_EXT_SYMBOL = 2, KOBAKO_EXT_HANDLE = 3 };

/* Why an encode or decode failed: a Ruby exception class name and a message. */
typedef struct {
  const char *klass;
  char message[200];
} kobako_codec_error;

/* Appends v as msgpack. Returns 0, or -1 with err filled. Calls no Ruby code. */
int kobako_encode(mrb_state *mrb, kobako_buf *out, mrb_value v, kobako_codec_error *err);

/* Decodes one msgpack value from data[0, len). Returns 0 and sets *out and
 * *used, or -1 with err filled. */
int kobako_decode(mrb_state *mrb, const uint8_t *data, uint32_t len, mrb_value *out,
                  uint32_t *used, kobako_codec_error *err);

/* Scratch memory no script can reach (src/scratch.c): for C methods that call
 * back into Ruby, which may mutate or free any String or Array it can find
 * through ObjectSpace. A block lives while the C method that made it runs,
 * and is freed by the GC after. All raise NoMemoryError when memory runs out. */
struct RData;
char *kobako_scratch_new(mrb_state *mrb, size_t size, struct RData **owner);
char *kobako_scratch_resize(mrb_state *mrb, struct RData *owner, size_t size);
/* A NUL-terminated scratch copy of src[0, n). */
char *kobako_scratch_copy(mrb_state *mrb, const char *src, size_t n);
/* An Array of values that ObjectSpace cannot yield (its class is NULL): never
 * hand it to Ruby code. The GC arena holds it while the C method runs. */
mrb_value kobako_hidden_ary(mrb_state *mrb, mrb_int n, const mrb_value *values);

/* A growable byte buffer in scratch memory, for output built across calls
 * into Ruby. Raises ArgumentError "string too long" past what a String holds. */
typedef struct {
  struct RData *owner;
  char *ptr;
  size_t len, cap;
} kobako_sbuf;
void kobako_sbuf_init(mrb_state *mrb, kobako_sbuf *b, size_t cap);
void kobako_sbuf_reserve(mrb_state *mrb, kobako_sbuf *b, size_t n); /* room for n more */
void kobako_sbuf_put(mrb_state *mrb, kobako_sbuf *b, const void *src, size_t n);
mrb_value kobako_sbuf_string(mrb_state *mrb, kobako_sbuf *b);

/* Services (src/services.c). */
void kobako_services_init(mrb_state *mrb, struct RClass *kobako);
void kobako_bind_path(mrb_state *mrb, mrb_value path);
mrb_value kobako_handle_new(mrb_state *mrb, uint32_t id);
int kobako_handle_id(mrb_state *mrb, mrb_value v, uint32_t *id);
/* The number of the Service call whose error reply exc was made from, or -1
 * for an exception the script made (src/services.c keeps the mark). */
int64_t kobako_exception_origin(mrb_state *mrb, mrb_value exc);

/* Unseeded Random.new (src/random.c): seeds derived from the run's seed. */
void kobako_random_init(mrb_state *mrb, struct RClass *kobako);
void kobako_random_reset(uint32_t run_seed);

/* Strict UTF-8 check, same acceptance as Python's bytes.decode("utf-8"). */
int kobako_utf8_valid(const uint8_t *s, uint32_t n);

#endif
