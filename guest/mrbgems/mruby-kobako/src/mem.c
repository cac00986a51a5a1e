/* memcpy, memmove and memset for a guest built without bulk memory (build_config.rb):
 * each is bulk-memory instructions over at most MEM_CHUNK bytes at a time, so a huge
 * copy or fill is a loop, where the epoch (the host's timeout) is checked, instead
 * of one instruction that may first-touch a GiB of fresh pages for seconds. */
#include <stddef.h>
#include <stdint.h>

#define MEM_CHUNK ((size_t)64 << 10)
#define BULK __attribute__((target("bulk-memory")))
/* keeps the chunks apart: one loop iteration, one epoch check */
#define MEM_BARRIER() __asm__ volatile("" ::: "memory")

BULK void *
memmove(void *dst, const void *src, size_t n)
{
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d <= s || d >= s + n) {
    while (n > MEM_CHUNK) {
      __builtin_memmove(d, s, MEM_CHUNK);
      d += MEM_CHUNK, s += MEM_CHUNK, n -= MEM_CHUNK;
      MEM_BARRIER();
    }
    __builtin_memmove(d, s, n);
  } else { /* dst overlaps the end of src: copy the last chunk first */
    while (n > MEM_CHUNK) {
      n -= MEM_CHUNK;
      __builtin_memmove(d + n, s + n, MEM_CHUNK);
      MEM_BARRIER();
    }
    __builtin_memmove(d, s, n);
  }
  return dst;
}

BULK void *
memcpy(void *restrict dst, const void *restrict src, size_t n)
{
  return memmove(dst, src, n);
}

BULK void *
memset(void *dst, int c, size_t n)
{
  unsigned char *d = dst;
  while (n > MEM_CHUNK) {
    __builtin_memset(d, c, MEM_CHUNK);
    d += MEM_CHUNK, n -= MEM_CHUNK;
    MEM_BARRIER();
  }
  __builtin_memset(d, c, n);
  return dst;
}
