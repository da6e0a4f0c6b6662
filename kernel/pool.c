#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "pool.h"
#include "xalloc.h"

#define POOL_FIRST_CHUNK 1024
#define POOL_MAX_CHUNK (64 * 1024)
#define POOL_ALIGN 16

struct pool_chunk {
	struct pool_chunk *next;
	size_t size;   /* usable bytes after the header */
	size_t used;
	/* data follows, aligned */
};

#define POOL_HDR ((sizeof(struct pool_chunk) + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1))

static struct pool_chunk *pool_new_chunk(struct pool *pool, size_t need)
{
	struct pool_chunk *c;
	size_t size = pool->chunk_size < POOL_FIRST_CHUNK ? POOL_FIRST_CHUNK : pool->chunk_size;

	if (size < need)
		size = need;
	c = xmalloc(POOL_HDR + size);
	c->size = size;
	c->used = 0;
	c->next = pool->chunks;
	pool->chunks = c;
	/* Grow geometrically so a large command needs few chunks. */
	if (pool->chunk_size < POOL_MAX_CHUNK)
		pool->chunk_size = size * 2;
	return c;
}

void *pool_alloc(struct pool *pool, size_t size)
{
	struct pool_chunk *c = pool->chunks;
	void *p;

	size = (size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
	if (size == 0)
		size = POOL_ALIGN;
	if (c == NULL || c->size - c->used < size)
		c = pool_new_chunk(pool, size);
	p = (char *)c + POOL_HDR + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *pool_strndup(struct pool *pool, const char *s, size_t n)
{
	char *p = pool_alloc(pool, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void pool_clear(struct pool *pool)
{
	struct pool_chunk *c = pool->chunks, *keep = NULL;

	/* Keep the oldest (smallest) chunk: idle sessions stay small. */
	while (c != NULL) {
		struct pool_chunk *next = c->next;

		if (next == NULL && c->size <= POOL_FIRST_CHUNK) {
			keep = c;
			keep->used = 0;
		} else {
			free(c);
		}
		c = next;
	}
	pool->chunks = keep;
	pool->chunk_size = 0;
}

void pool_free(struct pool *pool)
{
	pool_clear(pool);
	free(pool->chunks);
	pool->chunks = NULL;
}
