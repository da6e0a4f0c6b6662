/* A growable byte buffer, always NUL-terminated after its contents, used
 * wherever output is built up (responses, rendered ENVELOPEs, log lines). */
#ifndef VIMAP_STRBUF_H
#define VIMAP_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *data;  /* owned; NULL until the first append */
	size_t len;  /* bytes used, excluding the terminating NUL */
	size_t cap;  /* bytes allocated */
};

#define STRBUF_INIT { NULL, 0, 0 }

/* Appends; the buffer grows as needed (aborts on out-of-memory). */
void strbuf_append(struct strbuf *sb, const void *data, size_t len);
void strbuf_appends(struct strbuf *sb, const char *s);
void strbuf_appendc(struct strbuf *sb, char c);
void strbuf_appendf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its allocation. */
void strbuf_reset(struct strbuf *sb);
/* Drops `n` bytes from the front. */
void strbuf_consume(struct strbuf *sb, size_t n);
/* Frees the allocation and leaves an empty buffer. */
void strbuf_free(struct strbuf *sb);
/* Hands over the contents (caller frees) and leaves an empty buffer. */
char *strbuf_steal(struct strbuf *sb);
/* Makes room for `n` more bytes and returns where they go; the caller then
   calls strbuf_commit() with how many it wrote. */
char *strbuf_reserve(struct strbuf *sb, size_t n);
void strbuf_commit(struct strbuf *sb, size_t n);

#endif
