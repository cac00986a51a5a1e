/* A growable byte buffer that records allocation failure instead of aborting,
 * so the guest can still report an outcome when memory runs out. */
#include <stdlib.h>
#include <string.h>
#include "kobako.h"

static int
buf_reserve(kobako_buf *b, uint32_t extra)
{
  uint64_t need = (uint64_t)b->len + extra;
  if (b->failed) return 0;
  if (need <= b->cap) return 1;
  /* double while small; a single large write gets just what it needs (plus an
   * eighth), so a big outcome does not transiently cost twice its size */
  uint64_t cap = b->cap ? (uint64_t)b->cap * 2 : 64;
  if (cap < need) cap = need + need / 8;
  if (cap > UINT32_MAX) cap = UINT32_MAX;
  if (cap < need) { b->failed = 1; return 0; }
  uint8_t *p = realloc(b->data, (size_t)cap);
  if (!p) { b->failed = 1; return 0; }
  b->data = p;
  b->cap = (uint32_t)cap;
  return 1;
}

void
kobako_buf_put(kobako_buf *b, const void *src, uint32_t n)
{
  if (n == 0 || !buf_reserve(b, n)) return;
  memcpy(b->data + b->len, src, n);
  b->len += n;
}

void
kobako_buf_byte(kobako_buf *b, uint8_t byte)
{
  kobako_buf_put(b, &byte, 1);
}

void
kobako_buf_free(kobako_buf *b)
{
  free(b->data);
  memset(b, 0, sizeof(*b));
}
