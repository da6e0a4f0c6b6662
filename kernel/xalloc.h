/* Allocation that cannot recover aborts on out-of-memory (STYLE 8): the
 * server has no useful way on when malloc fails, and checking every small
 * allocation would hide the real error paths. */
#ifndef VIMAP_XALLOC_H
#define VIMAP_XALLOC_H

#include <stddef.h>

/* Each returns memory the caller owns and frees with free(). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
