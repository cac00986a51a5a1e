/* Interfaces between the kobako guest's parts: the byte buffer, output capture,
 * and the msgpack value codec. */
#ifndef KOBAKO_H
#define KOBAKO_H

#include <stdint.h>
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

/* Services (src/services.c). */
void kobako_services_init(mrb_state *mrb, struct RClass *kobako);
void kobako_bind_path(mrb_state *mrb, mrb_value path);
mrb_value kobako_handle_new(mrb_state *mrb, uint32_t id);
int kobako_handle_id(mrb_state *mrb, mrb_value v, uint32_t *id);
/* nil, or [call number, class, message] for an exception made from a host reply. */
mrb_value kobako_exception_origin(mrb_state *mrb, mrb_value exc);

/* Unseeded Random.new (src/random.c): seeds derived from the run's seed. */
void kobako_random_init(mrb_state *mrb, struct RClass *kobako);
void kobako_random_reset(uint32_t run_seed);

/* Strict UTF-8 check, same acceptance as Python's bytes.decode("utf-8"). */
int kobako_utf8_valid(const uint8_t *s, uint32_t n);

#endif
