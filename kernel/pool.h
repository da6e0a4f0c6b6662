/* A memory pool (arena): many small allocations freed at once.  A session
 * keeps one for the command being run and clears it after the tagged
 * response (STYLE 8), so per-command parsing never frees piecemeal. */
#ifndef VIMAP_POOL_H
#define VIMAP_POOL_H

#include <stddef.h>

struct pool_chunk;

struct pool {
	struct pool_chunk *chunks; /* newest first */
	size_t chunk_size;         /* size of the next ordinary chunk */
};

#define POOL_INIT { NULL, 0 }

/* Returns zeroed memory valid until pool_clear(); aborts on OOM. */
void *pool_alloc(struct pool *pool, size_t size);
char *pool_strndup(struct pool *pool, const char *s, size_t n);
/* Frees everything but one small chunk, which is kept for reuse. */
void pool_clear(struct pool *pool);
/* Frees everything. */
void pool_free(struct pool *pool);

#endif
