/* IMAP sequence sets (RFC 3501 "sequence-set"): "1:4,7,9:*".  Parsed into
 * sorted, merged ranges once the largest number ("*") is known. */
#ifndef VIMAP_IMAP_SEQSET_H
#define VIMAP_IMAP_SEQSET_H

#include <stdint.h>

struct pool;

struct seq_range {
	uint32_t first, last;  /* inclusive, first <= last */
};

struct seqset {
	struct seq_range *ranges; /* ascending, non-overlapping, merged */
	unsigned count;
};

/* Parses `text` with "*" standing for `star` (the largest sequence number
   or UID in the mailbox; 0 when it is empty: then "*" matches nothing
   but is still valid syntax).  Memory from `pool`.  Returns 0, or -1 with
   a reason for a malformed set (zero, junk, overflow). */
int seqset_parse(const char *text, uint32_t star, struct pool *pool,
		 struct seqset *set_r, const char **error_r);

/* 1 when `n` is in the set, else 0: a binary search. */
int seqset_contains(const struct seqset *set, uint32_t n);

/* 1 when `text` is syntactically a sequence set, else 0. */
int seqset_is_valid(const char *text);

#endif
