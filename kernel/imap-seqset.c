#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "imap-seqset.h"
#include "pool.h"

/* Reads a number or "*" (returned as `star`).  -1 on junk or overflow. */
static int seqset_number(const char **p, uint32_t star, uint32_t *n_r, int *is_star_r)
{
	uint64_t n = 0;
	const char *s = *p;

	*is_star_r = 0;
	if (*s == '*') {
		*p = s + 1;
		*n_r = star;
		*is_star_r = 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return -1;
		s++;
	}
	*p = s;
	*n_r = (uint32_t)n;
	return 0;
}

static int seqset_range_cmp(const void *a, const void *b)
{
	const struct seq_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Sorts and merges overlapping or adjacent ranges in place. */
static unsigned seqset_normalize(struct seq_range *r, unsigned count)
{
	unsigned i, out = 0;

	if (count == 0)
		return 0;
	qsort(r, count, sizeof(*r), seqset_range_cmp);
	for (i = 1; i < count; i++) {
		if (r[i].first <= r[out].last + (uint64_t)1) {
			if (r[i].last > r[out].last)
				r[out].last = r[i].last;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

int seqset_parse(const char *text, uint32_t star, struct pool *pool,
		 struct seqset *set_r, const char **error_r)
{
	const char *p = text;
	unsigned cap = 1, count = 0;
	struct seq_range *r;

	for (; *p != '\0'; p++)
		cap += *p == ',';
	r = pool_alloc(pool, cap * sizeof(*r));
	p = text;
	for (;;) {
		uint32_t a, b;
		int sa, sb;

		if (seqset_number(&p, star, &a, &sa) < 0)
			return error_set(error_r, "Invalid sequence set");
		b = a;
		sb = sa;
		if (*p == ':') {
			p++;
			if (seqset_number(&p, star, &b, &sb) < 0)
				return error_set(error_r, "Invalid sequence set");
		}
		/* "*" in an empty mailbox is 0: the range matches nothing. */
		if (!((sa && a == 0) || (sb && b == 0))) {
			r[count].first = a < b ? a : b;
			r[count].last = a < b ? b : a;
			count++;
		} else if (!sa || !sb) {
			/* "5:*" with nothing there: still covers 5 and up, i.e.
			   nothing that exists; keep the numeric end alone. */
			r[count].first = r[count].last = sa ? b : a;
			count++;
		}
		if (*p == '\0')
			break;
		if (*p != ',')
			return error_set(error_r, "Invalid sequence set");
		p++;
	}
	set_r->ranges = r;
	set_r->count = seqset_normalize(r, count);
	return 0;
}

int seqset_contains(const struct seqset *set, uint32_t n)
{
	unsigned lo = 0, hi = set->count;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (n < set->ranges[mid].first)
			hi = mid;
		else if (n > set->ranges[mid].last)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

int seqset_is_valid(const char *text)
{
	const char *p = text;

	for (;;) {
		uint32_t n;
		int st;

		if (seqset_number(&p, 1, &n, &st) < 0)
			return 0;
		if (*p == ':') {
			p++;
			if (seqset_number(&p, 1, &n, &st) < 0)
				return 0;
		}
		if (*p == '\0')
			return 1;
		if (*p != ',')
			return 0;
		p++;
	}
}
