#include "autoconfig.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <vimap/storage.h>
#include "error.h"
#include "imap-date.h"
#include "imap-parser.h"
#include "imap-search.h"
#include "imap-seqset.h"
#include "pool.h"
#include "strbuf.h"
#include "xalloc.h"
#include "mail/charset.h"
#include "mail/message-parser.h"
#include "mail/rfc2047.h"
#include "mail/text-match.h"
#include "mail/transfer-decode.h"

/* \Recent is not a stored flag: the evaluator ORs it into the flag word
   under a bit no VIMAP_FLAG_* uses. */
#define SK_FLAG_RECENT 0x80000000u

/* What a search reads through its source (struct imap_search.uses). */
#define SK_USES_HEADER     0x01u
#define SK_USES_HEADER_ALL 0x02u
#define SK_USES_BODY       0x04u

/* Relative evaluation costs: AND children run cheapest first. */
#define SK_COST_INDEX  1u
#define SK_COST_HEADER 20u
#define SK_COST_DATE   25u
#define SK_COST_BODY   200u
#define SK_COST_TEXT   220u
#define SK_COST_MAX    1000000u

enum sk_type {
	SK_ALL, SK_AND, SK_OR, SK_NOT, SK_FLAGS, SK_SEQ, SK_UID, SK_KEYWORD,
	SK_LARGER, SK_SMALLER, SK_BEFORE, SK_ON, SK_SINCE, SK_SENTBEFORE,
	SK_SENTON, SK_SENTSINCE, SK_MODSEQ, SK_HEADER, SK_BODY, SK_TEXT
};

/* One node of the search program; everything but `matcher` lives in the
   parse pool. */
struct sk_node {
	enum sk_type type;
	unsigned cost;
	struct sk_node **kids;        /* AND: kid_count; OR: 2; NOT: 1 */
	unsigned kid_count;
	uint32_t mask, want;          /* FLAGS: (flags & mask) == want */
	uint64_t num;                 /* LARGER, SMALLER, MODSEQ */
	int64_t day;                  /* BEFORE ... SENTSINCE: midnight UTC */
	const char *str;              /* KEYWORD; SEQ, UID: the set as sent */
	struct seqset set;            /* SEQ, UID: after imap_search_prepare() */
	bool set_ready;
	unsigned slot;                /* HEADER: index into the field slots */
	struct text_matcher *matcher; /* HEADER, BODY, TEXT; owned */
	struct sk_node *next_owned;   /* list of nodes owning a matcher */
	struct sk_node *next_set;     /* list of SEQ and UID nodes */
};

/* One cached text of the current message. */
struct sk_slot {
	unsigned gen;                 /* == scratch gen: filled for this message */
	int present;                  /* header field occurs */
	struct strbuf buf;
};

/* Per-message caches, reused from message to message (no allocation once
   the buffers have grown). */
struct sk_scratch {
	unsigned gen;
	struct sk_slot *fields;       /* field_count */
	struct sk_slot header_all, body;
	unsigned date_gen;
	bool date_ok;
	int64_t date_day;
	struct imap_search_data_ctx *data_ctx; /* of the built-in source */
};

struct imap_search {
	struct pool *pool;
	struct sk_node *root;
	int is_uid, has_modseq;
	unsigned uses;                /* SK_USES_* */
	const char **fields;          /* header names, one slot each */
	unsigned field_count, field_cap;
	unsigned date_slot;           /* slot of "Date" (SENT*), if used */
	struct sk_node *owned;        /* nodes with a matcher */
	struct sk_node *sets;         /* SEQ and UID nodes */
	struct sk_scratch *scratch;
};

/* ---- parsing ---- */

enum sk_arg {
	SK_ARG_NONE, SK_ARG_STRING, SK_ARG_HEADER, SK_ARG_DATE, SK_ARG_NUMBER,
	SK_ARG_SET, SK_ARG_KEYWORD, SK_ARG_KEY, SK_ARG_KEY2, SK_ARG_MODSEQ
};

static const struct sk_def {
	const char *name;
	enum sk_type type;
	enum sk_arg arg;
	uint32_t mask, want;          /* FLAGS */
	const char *field;            /* HEADER shorthands */
	bool negate;                  /* UNKEYWORD */
} sk_defs[] = {
	{ "ALL", SK_ALL, SK_ARG_NONE, 0, 0, NULL, false },
	{ "ANSWERED", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_ANSWERED,
	  VIMAP_FLAG_ANSWERED, NULL, false },
	{ "BCC", SK_HEADER, SK_ARG_STRING, 0, 0, "Bcc", false },
	{ "BEFORE", SK_BEFORE, SK_ARG_DATE, 0, 0, NULL, false },
	{ "BODY", SK_BODY, SK_ARG_STRING, 0, 0, NULL, false },
	{ "CC", SK_HEADER, SK_ARG_STRING, 0, 0, "Cc", false },
	{ "DELETED", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_DELETED,
	  VIMAP_FLAG_DELETED, NULL, false },
	{ "DRAFT", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_DRAFT, VIMAP_FLAG_DRAFT,
	  NULL, false },
	{ "FLAGGED", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_FLAGGED,
	  VIMAP_FLAG_FLAGGED, NULL, false },
	{ "FROM", SK_HEADER, SK_ARG_STRING, 0, 0, "From", false },
	{ "HEADER", SK_HEADER, SK_ARG_HEADER, 0, 0, NULL, false },
	{ "KEYWORD", SK_KEYWORD, SK_ARG_KEYWORD, 0, 0, NULL, false },
	{ "LARGER", SK_LARGER, SK_ARG_NUMBER, 0, 0, NULL, false },
	{ "MODSEQ", SK_MODSEQ, SK_ARG_MODSEQ, 0, 0, NULL, false },
	{ "NEW", SK_FLAGS, SK_ARG_NONE, SK_FLAG_RECENT | VIMAP_FLAG_SEEN,
	  SK_FLAG_RECENT, NULL, false },
	{ "NOT", SK_NOT, SK_ARG_KEY, 0, 0, NULL, false },
	{ "OLD", SK_FLAGS, SK_ARG_NONE, SK_FLAG_RECENT, 0, NULL, false },
	{ "ON", SK_ON, SK_ARG_DATE, 0, 0, NULL, false },
	{ "OR", SK_OR, SK_ARG_KEY2, 0, 0, NULL, false },
	{ "RECENT", SK_FLAGS, SK_ARG_NONE, SK_FLAG_RECENT, SK_FLAG_RECENT,
	  NULL, false },
	{ "SEEN", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_SEEN, VIMAP_FLAG_SEEN,
	  NULL, false },
	{ "SENTBEFORE", SK_SENTBEFORE, SK_ARG_DATE, 0, 0, NULL, false },
	{ "SENTON", SK_SENTON, SK_ARG_DATE, 0, 0, NULL, false },
	{ "SENTSINCE", SK_SENTSINCE, SK_ARG_DATE, 0, 0, NULL, false },
	{ "SINCE", SK_SINCE, SK_ARG_DATE, 0, 0, NULL, false },
	{ "SMALLER", SK_SMALLER, SK_ARG_NUMBER, 0, 0, NULL, false },
	{ "SUBJECT", SK_HEADER, SK_ARG_STRING, 0, 0, "Subject", false },
	{ "TEXT", SK_TEXT, SK_ARG_STRING, 0, 0, NULL, false },
	{ "TO", SK_HEADER, SK_ARG_STRING, 0, 0, "To", false },
	{ "UID", SK_UID, SK_ARG_SET, 0, 0, NULL, false },
	{ "UNANSWERED", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_ANSWERED, 0, NULL,
	  false },
	{ "UNDELETED", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_DELETED, 0, NULL,
	  false },
	{ "UNDRAFT", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_DRAFT, 0, NULL, false },
	{ "UNFLAGGED", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_FLAGGED, 0, NULL,
	  false },
	{ "UNKEYWORD", SK_KEYWORD, SK_ARG_KEYWORD, 0, 0, NULL, true },
	{ "UNSEEN", SK_FLAGS, SK_ARG_NONE, VIMAP_FLAG_SEEN, 0, NULL, false },
};

/* System flags a KEYWORD argument may name (lenient: the grammar wants an
   atom, but clients send "KEYWORD \Seen"). */
static const struct {
	const char *name;
	uint32_t flag;
} sk_system_flags[] = {
	{ "\\Seen", VIMAP_FLAG_SEEN }, { "\\Answered", VIMAP_FLAG_ANSWERED },
	{ "\\Flagged", VIMAP_FLAG_FLAGGED }, { "\\Deleted", VIMAP_FLAG_DELETED },
	{ "\\Draft", VIMAP_FLAG_DRAFT }, { "\\Recent", SK_FLAG_RECENT },
};

struct sk_parser {
	struct imap_search *s;
	const char *charset;
	struct strbuf conv;           /* needle converted to UTF-8 */
	const char *error;            /* set with the first failure */
};

/* A position in one argument list. */
struct sk_cursor {
	const struct imap_arg *args;
	unsigned count, pos;
};

static __thread char sk_badcharset_error[160];

static struct sk_node *sk_fail(struct sk_parser *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	return NULL;
}

static struct sk_node *sk_node_new(struct sk_parser *p, enum sk_type type)
{
	struct sk_node *n = pool_alloc(p->s->pool, sizeof(*n));

	n->type = type;
	return n;
}

static const struct sk_def *sk_def_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(sk_defs) / sizeof(sk_defs[0]); i++) {
		if (strcasecmp(sk_defs[i].name, name) == 0)
			return &sk_defs[i];
	}
	return NULL;
}

/* The next argument of the cursor, or NULL (with an error) at the end. */
static const struct imap_arg *sk_next_arg(struct sk_parser *p,
					  struct sk_cursor *c, const char *what)
{
	if (c->pos >= c->count) {
		sk_fail(p, error_fmt("Missing %s", what));
		return NULL;
	}
	return &c->args[c->pos++];
}

static const struct imap_arg *sk_next_string(struct sk_parser *p,
					     struct sk_cursor *c,
					     const char *what)
{
	const struct imap_arg *arg = sk_next_arg(p, c, what);

	if (arg != NULL && !imap_arg_is_string(arg)) {
		sk_fail(p, error_fmt("Invalid %s", what));
		return NULL;
	}
	return arg;
}

/* The slot of header field `name`, shared by every key on that field. */
static unsigned sk_field_slot(struct sk_parser *p, const char *name,
			      size_t len)
{
	struct imap_search *s = p->s;
	const char **grown;
	unsigned i;

	for (i = 0; i < s->field_count; i++) {
		if (strlen(s->fields[i]) == len &&
		    strncasecmp(s->fields[i], name, len) == 0)
			return i;
	}
	if (s->field_count == s->field_cap) {
		s->field_cap = s->field_cap == 0 ? 4 : s->field_cap * 2;
		grown = pool_alloc(s->pool, s->field_cap * sizeof(*grown));
		if (s->field_count > 0)
			memcpy(grown, s->fields, s->field_count * sizeof(*grown));
		s->fields = grown;
	}
	s->fields[s->field_count] = pool_strndup(s->pool, name, len);
	return s->field_count++;
}

/* Gives `n` a matcher for the needle arg, converted to UTF-8. */
static bool sk_set_needle(struct sk_parser *p, struct sk_node *n,
			  const struct imap_arg *arg)
{
	const char *error;

	strbuf_reset(&p->conv);
	if (charset_to_utf8(p->charset, arg->str, arg->len, &p->conv,
			    &error) < 0) {
		sk_fail(p, error);
		return false;
	}
	n->matcher = text_matcher_create(p->conv.data != NULL ?
					 p->conv.data : "", p->conv.len);
	n->next_owned = p->s->owned;
	p->s->owned = n;
	return true;
}

/* A header field name as RFC 5322 defines it: printable, no colon. */
static bool sk_field_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

static bool sk_parse_number(const char *str, uint64_t *n_r)
{
	uint64_t n = 0;

	if (*str == '\0')
		return false;
	for (; *str != '\0'; str++) {
		uint64_t d = (uint64_t)(*str - '0');

		if (*str < '0' || *str > '9' || n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*n_r = n;
	return true;
}

static struct sk_node *sk_parse_key(struct sk_parser *p, struct sk_cursor *c,
				    unsigned depth);
static struct sk_node *sk_parse_list(struct sk_parser *p,
				     const struct imap_arg *args,
				     unsigned count, unsigned depth);

static struct sk_node *sk_parse_keyword(struct sk_parser *p,
					struct sk_cursor *c,
					const struct sk_def *def)
{
	const struct imap_arg *arg = sk_next_string(p, c, "keyword");
	struct sk_node *n;
	size_t i;

	if (arg == NULL)
		return NULL;
	if (arg->len == 0)
		return sk_fail(p, "Invalid keyword");
	for (i = 0; i < sizeof(sk_system_flags) / sizeof(sk_system_flags[0]);
	     i++) {
		if (strcasecmp(arg->str, sk_system_flags[i].name) == 0) {
			n = sk_node_new(p, SK_FLAGS);
			n->mask = sk_system_flags[i].flag;
			n->want = def->negate ? 0 : n->mask;
			return n;
		}
	}
	n = sk_node_new(p, SK_KEYWORD);
	n->str = pool_strndup(p->s->pool, arg->str, arg->len);
	if (def->negate) {
		struct sk_node *not = sk_node_new(p, SK_NOT);

		not->kids = pool_alloc(p->s->pool, sizeof(*not->kids));
		not->kids[0] = n;
		not->kid_count = 1;
		return not;
	}
	return n;
}

/* MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162). */
static struct sk_node *sk_parse_modseq(struct sk_parser *p,
				       struct sk_cursor *c, struct sk_node *n)
{
	const struct imap_arg *arg = sk_next_string(p, c, "MODSEQ value");

	if (arg == NULL)
		return NULL;
	if (arg->type != IMAP_ARG_ATOM || !sk_parse_number(arg->str, &n->num)) {
		/* arg was the entry name: a type and the value follow */
		arg = sk_next_arg(p, c, "MODSEQ entry type");
		if (arg == NULL)
			return NULL;
		if (!imap_arg_is_atom(arg, "priv") &&
		    !imap_arg_is_atom(arg, "shared") &&
		    !imap_arg_is_atom(arg, "all"))
			return sk_fail(p, "Invalid MODSEQ entry type");
		arg = sk_next_arg(p, c, "MODSEQ value");
		if (arg == NULL)
			return NULL;
		if (arg->type != IMAP_ARG_ATOM ||
		    !sk_parse_number(arg->str, &n->num))
			return sk_fail(p, "Invalid MODSEQ value");
	}
	p->s->has_modseq = 1;
	return n;
}

/* HEADER field string, and the keys on a string (BODY, TEXT, FROM...). */
static struct sk_node *sk_parse_text_key(struct sk_parser *p,
					 struct sk_cursor *c,
					 const struct sk_def *def,
					 struct sk_node *n)
{
	const struct imap_arg *arg;

	if (def->arg == SK_ARG_HEADER) {
		if ((arg = sk_next_string(p, c, "header field name")) == NULL)
			return NULL;
		if (!sk_field_name_valid(arg->str, arg->len))
			return sk_fail(p, "Invalid header field name");
		n->slot = sk_field_slot(p, arg->str, arg->len);
	} else if (def->field != NULL) {
		n->slot = sk_field_slot(p, def->field, strlen(def->field));
	}
	if ((arg = sk_next_string(p, c, "search string")) == NULL)
		return NULL;
	p->s->uses |= n->type == SK_BODY ? SK_USES_BODY :
		n->type == SK_TEXT ? SK_USES_HEADER_ALL | SK_USES_BODY :
		SK_USES_HEADER;
	return sk_set_needle(p, n, arg) ? n : NULL;
}

/* BEFORE, ON, SINCE and the SENT* keys. */
static struct sk_node *sk_parse_date_key(struct sk_parser *p,
					 struct sk_cursor *c,
					 struct sk_node *n)
{
	const struct imap_arg *arg = sk_next_string(p, c, "date");
	int64_t t;

	if (arg == NULL)
		return NULL;
	if (imap_date_parse(arg->str, &t) < 0)
		return sk_fail(p, "Invalid date");
	n->day = t;
	if (n->type == SK_SENTBEFORE || n->type == SK_SENTON ||
	    n->type == SK_SENTSINCE) {
		p->s->date_slot = sk_field_slot(p, "Date", 4);
		p->s->uses |= SK_USES_HEADER;
	}
	return n;
}

/* Reads the arguments of key `def` into `n`. */
static struct sk_node *sk_parse_args(struct sk_parser *p, struct sk_cursor *c,
				     const struct sk_def *def,
				     struct sk_node *n, unsigned depth)
{
	const struct imap_arg *arg = NULL;

	switch (def->arg) {
	case SK_ARG_NONE:
		n->mask = def->mask;
		n->want = def->want;
		return n;
	case SK_ARG_HEADER:
	case SK_ARG_STRING:
		return sk_parse_text_key(p, c, def, n);
	case SK_ARG_DATE:
		return sk_parse_date_key(p, c, n);
	case SK_ARG_NUMBER:
		if ((arg = sk_next_arg(p, c, "number")) == NULL)
			return NULL;
		if (arg->type != IMAP_ARG_ATOM || !sk_parse_number(arg->str, &n->num))
			return sk_fail(p, "Invalid number");
		return n;
	case SK_ARG_SET:
		if ((arg = sk_next_arg(p, c, "sequence set")) == NULL)
			return NULL;
		if (arg->type != IMAP_ARG_ATOM || !seqset_is_valid(arg->str))
			return sk_fail(p, "Invalid sequence set");
		n->str = pool_strndup(p->s->pool, arg->str, arg->len);
		n->next_set = p->s->sets;
		p->s->sets = n;
		return n;
	case SK_ARG_KEYWORD:
		return sk_parse_keyword(p, c, def);
	case SK_ARG_MODSEQ:
		return sk_parse_modseq(p, c, n);
	case SK_ARG_KEY:
	case SK_ARG_KEY2:
		n->kid_count = def->arg == SK_ARG_KEY ? 1 : 2;
		n->kids = pool_alloc(p->s->pool, n->kid_count * sizeof(*n->kids));
		if ((n->kids[0] = sk_parse_key(p, c, depth + 1)) == NULL)
			return NULL;
		if (n->kid_count == 2 &&
		    (n->kids[1] = sk_parse_key(p, c, depth + 1)) == NULL)
			return NULL;
		return n;
	}
	return sk_fail(p, "Internal error");
}

/* Parses one search key at the cursor; depth counts the NOT, OR and lists
   around it. */
static struct sk_node *sk_parse_key(struct sk_parser *p, struct sk_cursor *c,
				    unsigned depth)
{
	const struct imap_arg *arg;
	const struct sk_def *def;
	struct sk_node *n;

	if (depth > IMAP_SEARCH_MAX_DEPTH)
		return sk_fail(p, "Search keys nested too deeply");
	if ((arg = sk_next_arg(p, c, "search key")) == NULL)
		return NULL;
	if (arg->type == IMAP_ARG_LIST) {
		if (arg->count == 0)
			return sk_fail(p, "Empty search key list");
		return sk_parse_list(p, arg->list, arg->count, depth + 1);
	}
	if (arg->type != IMAP_ARG_ATOM)
		return sk_fail(p, "Search key expected");
	if ((def = sk_def_find(arg->str)) != NULL)
		return sk_parse_args(p, c, def, sk_node_new(p, def->type), depth);
	if (!seqset_is_valid(arg->str))
		return sk_fail(p, error_fmt("Unknown search key: %.40s",
					    arg->str));
	n = sk_node_new(p, SK_SEQ);
	n->str = pool_strndup(p->s->pool, arg->str, arg->len);
	n->next_set = p->s->sets;
	p->s->sets = n;
	return n;
}

/* Parses args[0..count) as keys ANDed together. */
static struct sk_node *sk_parse_list(struct sk_parser *p,
				     const struct imap_arg *args,
				     unsigned count, unsigned depth)
{
	struct sk_cursor c = { args, count, 0 };
	struct sk_node *n = sk_node_new(p, SK_AND);

	if (depth > IMAP_SEARCH_MAX_DEPTH)
		return sk_fail(p, "Search keys nested too deeply");
	/* each key takes at least one argument */
	n->kids = pool_alloc(p->s->pool, count * sizeof(*n->kids));
	while (c.pos < c.count) {
		if ((n->kids[n->kid_count++] = sk_parse_key(p, &c, depth)) == NULL)
			return NULL;
	}
	return n;
}

/* ---- simplification: fewer nodes, cheap keys first ---- */

static unsigned sk_popcount(uint32_t v)
{
	unsigned n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

static unsigned sk_leaf_cost(enum sk_type type)
{
	switch (type) {
	case SK_HEADER:
		return SK_COST_HEADER;
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
		return SK_COST_DATE;
	case SK_BODY:
		return SK_COST_BODY;
	case SK_TEXT:
		return SK_COST_TEXT;
	default:
		return SK_COST_INDEX;
	}
}

/* Merges FLAGS node b into a when both can hold; false on a conflict. */
static bool sk_flags_merge(struct sk_node *a, const struct sk_node *b)
{
	if (((a->want ^ b->want) & a->mask & b->mask) != 0)
		return false;
	a->mask |= b->mask;
	a->want |= b->want;
	return true;
}

static struct sk_node *sk_simplify(struct sk_parser *p, struct sk_node *n);

/* Flattens nested ANDs, drops ALL, merges flag tests, sorts by cost. */
static struct sk_node *sk_simplify_and(struct sk_parser *p, struct sk_node *n)
{
	struct sk_node **kids, *flags = NULL;
	unsigned i, j, total = 0, count = 0;
	uint64_t cost = 0;

	for (i = 0; i < n->kid_count; i++) {
		n->kids[i] = sk_simplify(p, n->kids[i]);
		total += n->kids[i]->type == SK_AND ? n->kids[i]->kid_count : 1;
	}
	kids = pool_alloc(p->s->pool, (total + 1) * sizeof(*kids));
	for (i = 0; i < n->kid_count; i++) {
		struct sk_node *k = n->kids[i];
		struct sk_node **from = k->type == SK_AND ? k->kids : &n->kids[i];
		unsigned nfrom = k->type == SK_AND ? k->kid_count : 1;

		for (j = 0; j < nfrom; j++) {
			if (from[j]->type == SK_ALL)
				continue;
			if (from[j]->type == SK_FLAGS && flags != NULL &&
			    sk_flags_merge(flags, from[j]))
				continue;
			if (from[j]->type == SK_FLAGS && flags == NULL) {
				/* a copy: the original may be shared */
				flags = sk_node_new(p, SK_FLAGS);
				*flags = *from[j];
				kids[count++] = flags;
				continue;
			}
			kids[count++] = from[j];
		}
	}
	if (count == 0)
		return sk_node_new(p, SK_ALL);
	if (count == 1)
		return kids[0];
	/* insertion sort, stable: cheapest first */
	for (i = 1; i < count; i++) {
		struct sk_node *k = kids[i];

		for (j = i; j > 0 && kids[j - 1]->cost > k->cost; j--)
			kids[j] = kids[j - 1];
		kids[j] = k;
	}
	for (i = 0; i < count; i++)
		cost += kids[i]->cost;
	n->kids = kids;
	n->kid_count = count;
	n->cost = cost > SK_COST_MAX ? SK_COST_MAX : (unsigned)cost;
	return n;
}

static struct sk_node *sk_simplify(struct sk_parser *p, struct sk_node *n)
{
	struct sk_node *k;

	switch (n->type) {
	case SK_AND:
		return sk_simplify_and(p, n);
	case SK_NOT:
		k = sk_simplify(p, n->kids[0]);
		if (k->type == SK_NOT)
			return k->kids[0];
		if (k->type == SK_FLAGS && sk_popcount(k->mask) == 1) {
			struct sk_node *f = sk_node_new(p, SK_FLAGS);

			f->mask = k->mask;
			f->want = k->want ^ k->mask;
			f->cost = SK_COST_INDEX;
			return f;
		}
		n->kids[0] = k;
		n->cost = k->cost;
		return n;
	case SK_OR:
		n->kids[0] = sk_simplify(p, n->kids[0]);
		n->kids[1] = sk_simplify(p, n->kids[1]);
		if (n->kids[1]->cost < n->kids[0]->cost) {
			k = n->kids[0];
			n->kids[0] = n->kids[1];
			n->kids[1] = k;
		}
		n->cost = n->kids[0]->cost + n->kids[1]->cost;
		if (n->cost > SK_COST_MAX)
			n->cost = SK_COST_MAX;
		return n;
	default:
		n->cost = sk_leaf_cost(n->type);
		return n;
	}
}

static void sk_free_owned(struct imap_search *s)
{
	struct sk_node *n;

	for (n = s->owned; n != NULL; n = n->next_owned)
		text_matcher_destroy(&n->matcher);
	s->owned = NULL;
}

/* Reads "CHARSET name" when present; false (with the error) on a charset
   other than US-ASCII and UTF-8. */
static bool sk_parse_charset(struct sk_parser *p, struct sk_cursor *c)
{
	const struct imap_arg *arg;

	if (c->count == 0 || !imap_arg_is_atom(&c->args[0], "CHARSET"))
		return true;
	c->pos++;
	if ((arg = sk_next_string(p, c, "charset name")) == NULL)
		return false;
	if (strcasecmp(arg->str, "UTF-8") == 0 ||
	    strcasecmp(arg->str, "US-ASCII") == 0) {
		p->charset = arg->str;
		return true;
	}
	snprintf(sk_badcharset_error, sizeof(sk_badcharset_error),
		 "Unsupported search charset: %.100s", arg->str);
	p->error = sk_badcharset_error;
	return false;
}

int imap_search_parse(const struct imap_arg *args, unsigned count,
		      int is_uid_command, struct pool *pool,
		      struct imap_search **search_r, const char **error_r)
{
	struct imap_search *s = pool_alloc(pool, sizeof(*s));
	struct sk_parser p = { s, "UTF-8", STRBUF_INIT, NULL };
	struct sk_cursor c = { args, count, 0 };
	struct sk_node *root = NULL;

	s->pool = pool;
	s->is_uid = is_uid_command != 0;
	if (sk_parse_charset(&p, &c)) {
		if (c.pos >= c.count)
			sk_fail(&p, "Missing search key");
		else
			root = sk_parse_list(&p, args + c.pos, count - c.pos, 0);
	}
	strbuf_free(&p.conv);
	if (root == NULL) {
		sk_free_owned(s);
		*error_r = p.error != NULL ? p.error : "Invalid search";
		return -1;
	}
	s->root = sk_simplify(&p, root);
	s->scratch = xcalloc(1, sizeof(*s->scratch));
	if (s->field_count > 0)
		s->scratch->fields = xcalloc(s->field_count,
					     sizeof(*s->scratch->fields));
	*search_r = s;
	return 0;
}

int imap_search_error_is_badcharset(const char *error)
{
	return error == sk_badcharset_error;
}

void imap_search_prepare(struct imap_search *s, uint32_t max_seq,
			 uint32_t max_uid)
{
	const char *error;
	struct sk_node *n;

	for (n = s->sets; n != NULL; n = n->next_set) {
		if (seqset_parse(n->str, n->type == SK_UID ? max_uid : max_seq,
				 s->pool, &n->set, &error) < 0)
			n->set.count = 0; /* checked at parse: cannot happen */
		n->set_ready = true;
	}
}

unsigned imap_search_needs(const struct imap_search *s,
			   const struct imap_search_source *src)
{
	const struct imap_search_source *def = &imap_search_source_from_data;
	unsigned needs = 0;

	if (src == NULL)
		src = def;
	if ((s->uses & SK_USES_HEADER) != 0)
		needs |= src->header != NULL ? src->header_needs :
			def->header_needs;
	if ((s->uses & SK_USES_HEADER_ALL) != 0)
		needs |= src->header_all != NULL ? src->header_needs :
			def->header_needs;
	if ((s->uses & SK_USES_BODY) != 0)
		needs |= src->body_text != NULL ? src->body_needs :
			def->body_needs;
	return needs;
}

int imap_search_has_modseq(const struct imap_search *s)
{
	return s->has_modseq;
}

int imap_search_is_uid(const struct imap_search *s)
{
	return s->is_uid;
}

void imap_search_destroy(struct imap_search **sp)
{
	struct imap_search *s = *sp;
	unsigned i;

	if (s == NULL)
		return;
	sk_free_owned(s);
	if (s->scratch != NULL) {
		for (i = 0; i < s->field_count && s->scratch->fields != NULL; i++)
			strbuf_free(&s->scratch->fields[i].buf);
		free(s->scratch->fields);
		strbuf_free(&s->scratch->header_all.buf);
		strbuf_free(&s->scratch->body.buf);
		imap_search_data_ctx_destroy(&s->scratch->data_ctx);
		free(s->scratch);
		s->scratch = NULL;
	}
	*sp = NULL;
}

/* ---- evaluation ---- */

enum sk_result { SK_ERR = -1, SK_NO = 0, SK_YES = 1, SK_MAYBE = 2 };

struct sk_run {
	const struct imap_search *s;
	const struct imap_msg *msg;
	/* the callbacks in use, each with its context: the caller's, or the
	   built-in one's where the caller's source has none */
	int (*header)(void *ctx, const struct imap_msg *msg,
		      const char *field, struct strbuf *out);
	int (*header_all)(void *ctx, const struct imap_msg *msg,
			  struct strbuf *out);
	int (*body_text)(void *ctx, const struct imap_msg *msg,
			 struct strbuf *out);
	void *header_ctx, *header_all_ctx, *body_ctx;
	bool index_only;              /* prematch: text keys are MAYBE */
};

static bool sk_has_keyword(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p = list, *end;

	if (list == NULL)
		return false;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		for (end = p; *end != '\0' && *end != ' '; end++) ;
		if ((size_t)(end - p) == len && strncasecmp(p, word, len) == 0)
			return true;
		p = end;
	}
	return false;
}

/* The cached header field of slot `i` for this message: 1 present, 0
   absent, -1 source failure. */
static int sk_get_field(struct sk_run *r, unsigned i, struct sk_slot **slot_r)
{
	struct sk_scratch *sc = r->s->scratch;
	struct sk_slot *slot = &sc->fields[i];
	int ret;

	*slot_r = slot;
	if (slot->gen == sc->gen)
		return slot->present;
	strbuf_reset(&slot->buf);
	ret = r->header(r->header_ctx, r->msg, r->s->fields[i], &slot->buf);
	if (ret < 0)
		return -1;
	slot->present = ret > 0;
	slot->gen = sc->gen;
	return slot->present;
}

static int sk_get_text(struct sk_run *r, struct sk_slot *slot, bool body)
{
	int ret;

	if (slot->gen == r->s->scratch->gen)
		return 0;
	strbuf_reset(&slot->buf);
	ret = body ? r->body_text(r->body_ctx, r->msg, &slot->buf) :
		r->header_all(r->header_all_ctx, r->msg, &slot->buf);
	if (ret < 0)
		return -1;
	slot->gen = r->s->scratch->gen;
	return 0;
}

static int sk_find(const struct sk_node *n, const struct sk_slot *slot)
{
	return text_matcher_find(n->matcher, slot->buf.data != NULL ?
				 slot->buf.data : "", slot->buf.len) ?
		SK_YES : SK_NO;
}

/* The day of the message's Date: header: 1 with *day_r, 0 when it has no
   parsable Date, -1 on source failure. */
static int sk_get_sent_day(struct sk_run *r, int64_t *day_r)
{
	struct sk_scratch *sc = r->s->scratch;
	struct sk_slot *slot;
	const char *text, *nl;
	int64_t t;
	int32_t tz;
	int ret;

	if (sc->date_gen != sc->gen) {
		if ((ret = sk_get_field(r, r->s->date_slot, &slot)) < 0)
			return -1;
		sc->date_ok = false;
		if (ret > 0) {
			text = slot->buf.data != NULL ? slot->buf.data : "";
			nl = memchr(text, '\n', slot->buf.len);
			if (imap_search_date_parse(text, nl != NULL ?
						   (size_t)(nl - text) :
						   slot->buf.len, &t, &tz) == 0) {
				sc->date_ok = true;
				sc->date_day = imap_date_day(t, tz);
			}
		}
		sc->date_gen = sc->gen;
	}
	*day_r = sc->date_day;
	return sc->date_ok ? 1 : 0;
}

static int sk_eval_sent(struct sk_run *r, const struct sk_node *n)
{
	int64_t day;
	int ret = sk_get_sent_day(r, &day);

	if (ret <= 0)
		return ret < 0 ? SK_ERR : SK_NO;
	switch (n->type) {
	case SK_SENTBEFORE:
		return day < n->day;
	case SK_SENTON:
		return day == n->day;
	default:
		return day >= n->day;
	}
}

/* HEADER, BODY, TEXT and SENT*: keys read through the source. */
static int sk_eval_text(struct sk_run *r, const struct sk_node *n)
{
	struct sk_scratch *sc = r->s->scratch;
	struct sk_slot *slot;
	int ret;

	if (r->index_only)
		return SK_MAYBE;
	switch (n->type) {
	case SK_HEADER:
		ret = sk_get_field(r, n->slot, &slot);
		return ret <= 0 ? (ret < 0 ? SK_ERR : SK_NO) : sk_find(n, slot);
	case SK_BODY:
		if (sk_get_text(r, &sc->body, true) < 0)
			return SK_ERR;
		return sk_find(n, &sc->body);
	case SK_TEXT:
		if (sk_get_text(r, &sc->header_all, false) < 0)
			return SK_ERR;
		if (sk_find(n, &sc->header_all) == SK_YES)
			return SK_YES;
		if (sk_get_text(r, &sc->body, true) < 0)
			return SK_ERR;
		return sk_find(n, &sc->body);
	default:
		return sk_eval_sent(r, n);
	}
}

static int sk_eval(struct sk_run *r, const struct sk_node *n);

static int sk_eval_and(struct sk_run *r, const struct sk_node *n)
{
	int result = SK_YES, ret;
	unsigned i;

	for (i = 0; i < n->kid_count; i++) {
		ret = sk_eval(r, n->kids[i]);
		if (ret == SK_NO || ret == SK_ERR)
			return ret;
		if (ret == SK_MAYBE)
			result = SK_MAYBE;
	}
	return result;
}

static int sk_eval_or(struct sk_run *r, const struct sk_node *n)
{
	int a, b;

	a = sk_eval(r, n->kids[0]);
	if (a == SK_YES || a == SK_ERR)
		return a;
	b = sk_eval(r, n->kids[1]);
	if (b == SK_YES || b == SK_ERR)
		return b;
	return a == SK_MAYBE || b == SK_MAYBE ? SK_MAYBE : SK_NO;
}

static int sk_eval(struct sk_run *r, const struct sk_node *n)
{
	const struct imap_msg *m = r->msg;
	int ret;

	switch (n->type) {
	case SK_ALL:
		return SK_YES;
	case SK_AND:
		return sk_eval_and(r, n);
	case SK_OR:
		return sk_eval_or(r, n);
	case SK_NOT:
		ret = sk_eval(r, n->kids[0]);
		return ret == SK_YES ? SK_NO : ret == SK_NO ? SK_YES : ret;
	case SK_FLAGS:
		return ((m->flags | (m->recent ? SK_FLAG_RECENT : 0)) &
			n->mask) == n->want;
	case SK_SEQ:
		return n->set_ready && seqset_contains(&n->set, m->seq);
	case SK_UID:
		return n->set_ready && seqset_contains(&n->set, m->uid);
	case SK_KEYWORD:
		return sk_has_keyword(m->keywords, n->str);
	case SK_LARGER:
		return m->size > n->num;
	case SK_SMALLER:
		return m->size < n->num;
	case SK_BEFORE:
		return imap_date_day(m->internal_date, m->tz_offset) < n->day;
	case SK_ON:
		return imap_date_day(m->internal_date, m->tz_offset) == n->day;
	case SK_SINCE:
		return imap_date_day(m->internal_date, m->tz_offset) >= n->day;
	case SK_MODSEQ:
		return m->modseq >= n->num;
	default:
		return sk_eval_text(r, n);
	}
}

enum imap_search_prematch_result
imap_search_prematch(const struct imap_search *s, const struct imap_msg *msg)
{
	struct sk_run r;

	memset(&r, 0, sizeof(r));
	r.s = s;
	r.msg = msg;
	r.index_only = true;
	return (enum imap_search_prematch_result)sk_eval(&r, s->root);
}

/* Fills the callbacks of `r` from src, the built-in source standing in
   for src NULL and for each callback src leaves NULL. */
static void sk_run_sources(struct sk_run *r,
			   const struct imap_search_source *src, void *src_ctx)
{
	const struct imap_search_source *def = &imap_search_source_from_data;
	struct sk_scratch *sc = r->s->scratch;
	void *def_ctx;

	if (src == NULL || src == def || src->header == NULL ||
	    src->header_all == NULL || src->body_text == NULL) {
		if (sc->data_ctx == NULL)
			sc->data_ctx = imap_search_data_ctx_create();
	}
	def_ctx = sc->data_ctx;
	if (src == NULL || (src == def && src_ctx == NULL)) {
		src = def;
		src_ctx = def_ctx;
	}
	r->header = src->header != NULL ? src->header : def->header;
	r->header_ctx = src->header != NULL ? src_ctx : def_ctx;
	r->header_all = src->header_all != NULL ? src->header_all :
		def->header_all;
	r->header_all_ctx = src->header_all != NULL ? src_ctx : def_ctx;
	r->body_text = src->body_text != NULL ? src->body_text :
		def->body_text;
	r->body_ctx = src->body_text != NULL ? src_ctx : def_ctx;
}

int imap_search_match(const struct imap_search *s, const struct imap_msg *msg,
		      const struct imap_search_source *src, void *src_ctx)
{
	struct sk_scratch *sc = s->scratch;
	struct sk_run r;
	unsigned i;
	int ret;

	memset(&r, 0, sizeof(r));
	r.s = s;
	r.msg = msg;
	sk_run_sources(&r, src, src_ctx);
	/* a new generation invalidates every cached text */
	if (++sc->gen == 0) {
		for (i = 0; i < s->field_count; i++)
			sc->fields[i].gen = 0;
		sc->header_all.gen = sc->body.gen = sc->date_gen = 0;
		sc->gen = 1;
	}
	ret = sk_eval(&r, s->root);
	return ret == SK_ERR ? -1 : ret == SK_YES;
}

/* ---- the built-in source: message bytes ---- */

struct imap_search_data_ctx {
	struct strbuf decoded;        /* a body part after transfer decoding */
};

struct imap_search_data_ctx *imap_search_data_ctx_create(void)
{
	return xcalloc(1, sizeof(struct imap_search_data_ctx));
}

void imap_search_data_ctx_destroy(struct imap_search_data_ctx **ctx)
{
	if (*ctx == NULL)
		return;
	strbuf_free(&(*ctx)->decoded);
	free(*ctx);
	*ctx = NULL;
}

/* Appends a raw header value decoded, without leading whitespace. */
static void sk_data_append_value(const struct message_header_field *f,
				 struct strbuf *out)
{
	const char *v = f->value;
	size_t len = f->value_len;

	while (len > 0 && (*v == ' ' || *v == '\t' || *v == '\r' ||
			   *v == '\n')) {
		v++;
		len--;
	}
	rfc2047_decode(v, len, out);
}

static int sk_data_header(void *ctx, const struct imap_msg *msg,
			  const char *field, struct strbuf *out)
{
	struct message_parser_header_iter iter;
	struct message_header_field f;
	size_t flen = strlen(field);
	int found = 0;

	(void)ctx;
	if (msg->data == NULL)
		return -1;
	message_parser_header_iter_init(&iter, msg->data, 0, msg->data_size);
	while (message_parser_header_iter_next(&iter, &f)) {
		if (f.name_len != flen || strncasecmp(f.name, field, flen) != 0)
			continue;
		if (found)
			strbuf_appendc(out, '\n');
		found = 1;
		sk_data_append_value(&f, out);
	}
	return found;
}

static int sk_data_header_all(void *ctx, const struct imap_msg *msg,
			      struct strbuf *out)
{
	struct message_parser_header_iter iter;
	struct message_header_field f;

	(void)ctx;
	if (msg->data == NULL)
		return -1;
	message_parser_header_iter_init(&iter, msg->data, 0, msg->data_size);
	while (message_parser_header_iter_next(&iter, &f)) {
		strbuf_append(out, f.name, f.name_len);
		strbuf_append(out, ": ", 2);
		sk_data_append_value(&f, out);
		strbuf_appendc(out, '\n');
	}
	return 0;
}

/* US-ASCII and UTF-8 text goes to the matcher as it is: it treats
   ill-formed bytes as U+FFFD, as charset_to_utf8() would. */
static bool sk_charset_is_utf8(const char *charset)
{
	return strcasecmp(charset, "us-ascii") == 0 ||
		strcasecmp(charset, "utf-8") == 0 ||
		strcasecmp(charset, "utf8") == 0 ||
		strcasecmp(charset, "ascii") == 0;
}

static void sk_data_append_part(struct imap_search_data_ctx *ctx,
				const char *in, size_t len,
				const struct message_text_part *tp,
				struct strbuf *out)
{
	const char *error;

	switch (transfer_encoding_from_name(tp->encoding)) {
	case TRANSFER_ENCODING_BASE64:
		strbuf_reset(&ctx->decoded);
		transfer_decode_base64(in, len, &ctx->decoded);
		in = ctx->decoded.data;
		len = ctx->decoded.len;
		break;
	case TRANSFER_ENCODING_QUOTED_PRINTABLE:
		strbuf_reset(&ctx->decoded);
		transfer_decode_qp(in, len, &ctx->decoded);
		in = ctx->decoded.data;
		len = ctx->decoded.len;
		break;
	case TRANSFER_ENCODING_UNKNOWN:
		return; /* RFC 2045 6.4: application/octet-stream, not text */
	default:
		break;
	}
	if (len == 0)
		return;
	/* an unknown charset: its ASCII is still worth searching */
	if (sk_charset_is_utf8(tp->charset) ||
	    charset_to_utf8(tp->charset, in, len, out, &error) < 0)
		strbuf_append(out, in, len);
}

static int sk_data_body(void *vctx, const struct imap_msg *msg,
			struct strbuf *out)
{
	struct imap_search_data_ctx *ctx = vctx;
	struct message_parser_result *result;
	struct message_parser_text_iter iter;
	struct message_text_part tp;
	bool first = true;

	if (msg->data == NULL)
		return -1;
	result = message_parser_parse(msg->data, msg->data_size);
	message_parser_text_iter_init(&iter, result);
	while (message_parser_text_iter_next(&iter, &tp)) {
		if (!first)
			strbuf_appendc(out, '\n');
		first = false;
		sk_data_append_part(ctx, msg->data + tp.body_offset,
				    tp.body_size, &tp, out);
	}
	message_parser_text_iter_deinit(&iter);
	message_parser_destroy(&result);
	return 0;
}

const struct imap_search_source imap_search_source_from_data = {
	IMAP_MSG_NEED_DATA,
	IMAP_MSG_NEED_DATA,
	sk_data_header,
	sk_data_header_all,
	sk_data_body,
};

/* ---- RFC 5322 dates ---- */

static const char *const sk_months[12] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"
};

static const struct {
	const char *name;
	int minutes;
} sk_zones[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
	{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
};

/* The month (0-11) a word names: 3 letters at least, a prefix of the full
   name ("Jul", "July", "Sept"), or -1. */
static int sk_month(const char *w, size_t len)
{
	int i;

	if (len < 3)
		return -1;
	for (i = 0; i < 12; i++) {
		if (len <= strlen(sk_months[i]) &&
		    strncasecmp(w, sk_months[i], len) == 0)
			return i;
	}
	return -1;
}

static bool sk_zone_name(const char *w, size_t len, int *minutes_r)
{
	size_t i;

	for (i = 0; i < sizeof(sk_zones) / sizeof(sk_zones[0]); i++) {
		if (strlen(sk_zones[i].name) == len &&
		    strncasecmp(w, sk_zones[i].name, len) == 0) {
			*minutes_r = sk_zones[i].minutes;
			return true;
		}
	}
	return false;
}

/* Skips whitespace, commas and (nested) comments. */
static const char *sk_skip_cfws(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (depth > 0) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		} else if (*p == '(') {
			depth++;
		} else if (*p != ' ' && *p != '\t' && *p != '\r' &&
			   *p != '\n' && *p != ',') {
			break;
		}
	}
	return p;
}

static bool sk_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool sk_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads digits at *pp: the value (capped) and how many there were. */
static unsigned sk_read_digits(const char **pp, const char *end, int *n_r)
{
	const char *p = *pp;
	unsigned nd = 0;
	int n = 0;

	for (; p < end && sk_is_digit(*p); p++, nd++) {
		if (n < 100000000)
			n = n * 10 + (*p - '0');
	}
	*pp = p;
	*n_r = n;
	return nd;
}

/* Days from 1970-01-01 to the civil date y-m-d (m 1-12). */
static int64_t sk_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int sk_days_in_month(int y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m];
}

/* What the scanner has found so far; -1 for "not yet". */
struct sk_date {
	int day, mon, year, hh, mm, ss, tz;
	bool have_time, have_zone;
};

/* Reads "hh:mm[:ss]" after the hour (p at the first colon); CFWS may
   surround the colons (RFC 5322 obs-time). */
static const char *sk_date_time(struct sk_date *d, int hour, const char *p,
				const char *end)
{
	int v;

	d->hh = hour;
	p = sk_skip_cfws(p + 1, end);
	if (sk_read_digits(&p, end, &v) == 0)
		return p;
	d->mm = v;
	p = sk_skip_cfws(p, end);
	if (p < end && *p == ':') {
		p = sk_skip_cfws(p + 1, end);
		if (sk_read_digits(&p, end, &v) > 0)
			d->ss = v;
	}
	d->have_time = true;
	return p;
}

/* Reads one number: the hour of a time, the day or the year. */
static const char *sk_date_number(struct sk_date *d, const char *p,
				  const char *end)
{
	const char *q;
	unsigned nd;
	int v;

	nd = sk_read_digits(&p, end, &v);
	q = sk_skip_cfws(p, end);
	if (q < end && *q == ':' && !d->have_time && nd <= 2)
		return sk_date_time(d, v, q, end);
	if (d->day < 0 && nd <= 2 && v >= 1)
		d->day = v;
	else if (d->year < 0 && nd >= 2 && nd <= 4)
		d->year = nd == 2 ? (v < 50 ? 2000 + v : 1900 + v) :
			nd == 3 ? 1900 + v : v;
	return p;
}

/* Reads a "+hhmm" / "-hhmm" zone (p at the sign); false when it is none. */
static bool sk_date_zone(struct sk_date *d, const char **pp, const char *end)
{
	const char *p = *pp + 1;
	int v;

	if (sk_read_digits(&p, end, &v) != 4 || v % 100 > 59)
		return false;
	d->tz = (v / 100) * 60 + v % 100;
	if (**pp == '-')
		d->tz = -d->tz;
	d->have_zone = true;
	*pp = p;
	return true;
}

static void sk_date_word(struct sk_date *d, const char *w, size_t len)
{
	int v;

	if (d->mon < 0 && (v = sk_month(w, len)) >= 0)
		d->mon = v;
	else if (d->have_time && !d->have_zone && sk_zone_name(w, len, &v)) {
		d->tz = v;
		d->have_zone = true;
	}
	/* day names, military zones ("treat as -0000") and noise: ignored */
}

static void sk_date_scan(struct sk_date *d, const char *start,
			 const char *end)
{
	const char *p = start, *q, *w;
	bool glued;

	while ((q = sk_skip_cfws(p, end)) < end) {
		/* a sign glued to a word separates fields ("1-Jul-2003") */
		glued = q == p && p > start &&
			(sk_is_alpha(p[-1]) || sk_is_digit(p[-1]));
		p = w = q;
		if (sk_is_alpha(*p)) {
			while (p < end && sk_is_alpha(*p))
				p++;
			sk_date_word(d, w, (size_t)(p - w));
		} else if (sk_is_digit(*p)) {
			p = sk_date_number(d, p, end);
		} else if ((*p != '+' && *p != '-') || glued || d->have_zone ||
			   !sk_date_zone(d, &p, end)) {
			p++; /* '.', separators, junk */
		}
	}
}

int imap_search_date_parse(const char *text, size_t len, int64_t *time_r,
			   int32_t *tz_r)
{
	struct sk_date d = { -1, -1, -1, 0, 0, 0, 0, false, false };
	int64_t days;

	sk_date_scan(&d, text, text + len);
	if (d.day < 1 || d.mon < 0 || d.year < 1 || d.year > 9999 ||
	    d.day > sk_days_in_month(d.year, d.mon))
		return -1;
	if (d.hh > 23 || d.mm > 59 || d.ss > 60)
		return -1;
	days = sk_days_from_civil(d.year, d.mon + 1, d.day);
	*time_r = days * 86400 + d.hh * 3600 + d.mm * 60 + d.ss -
		(int64_t)d.tz * 60;
	*tz_r = d.tz;
	return 0;
}
