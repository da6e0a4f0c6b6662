#include "autoconfig.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "error.h"
#include "imap-bodystructure.h"
#include "imap-envelope.h"
#include "message-cache.h"
#include "rfc2047.h"
#include "xalloc.h"

#define CACHE_FLAG_MULTIPART 1
#define CACHE_FLAG_RFC822 2
#define CACHE_CHECKSUM_SIZE 4

/* ---- encoding ---- */

static void put_varint(struct strbuf *out, uint64_t v)
{
	do {
		unsigned char b = v & 0x7f;

		v >>= 7;
		if (v != 0)
			b |= 0x80;
		strbuf_appendc(out, (char)b);
	} while (v != 0);
}

static uint32_t cache_checksum(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static void put_string(struct strbuf *out, const struct strbuf *s)
{
	put_varint(out, s->len);
	if (s->len > 0)
		strbuf_append(out, s->data, s->len);
	strbuf_appendc(out, '\0');
}

static void put_part(struct strbuf *out, const struct message_part *part)
{
	unsigned char flags = 0;
	size_t base = part->parent == NULL ? 0 : part->parent->body_offset;

	if (part->kind == MESSAGE_PART_MULTIPART)
		flags = CACHE_FLAG_MULTIPART;
	else if (part->kind == MESSAGE_PART_MESSAGE_RFC822)
		flags = CACHE_FLAG_RFC822;
	strbuf_appendc(out, (char)flags);
	put_varint(out, part->child_count);
	put_varint(out, part->header_offset - base);
	put_varint(out, part->header_size);
	put_varint(out, part->body_size);
}

/* The header fields SEARCH asks for most (SUBJECT, FROM, TO, CC, BCC and
   the Date for SENT*), decoded once here so a search never opens the
   message for them: "name:value\n" per occurrence, values unfolded and
   RFC 2047-decoded (Date kept raw). */
static const char *const cache_search_fields[] = {
	"subject", "from", "to", "cc", "bcc", "date"
};

static int cache_search_field(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(cache_search_fields) / sizeof(cache_search_fields[0]); i++) {
		if (strlen(cache_search_fields[i]) == len &&
		    strncasecmp(cache_search_fields[i], name, len) == 0)
			return (int)i;
	}
	return -1;
}

static void cache_search_headers(const struct message_parser_result *result,
				 struct strbuf *out)
{
	struct message_parser_header_iter iter;
	struct message_header_field f;
	struct strbuf raw = STRBUF_INIT;
	size_t i, start;
	int which;

	message_parser_header_iter_init(&iter, result->data, result->root->header_offset,
					result->root->header_size);
	while (message_parser_header_iter_next(&iter, &f)) {
		if ((which = cache_search_field(f.name, f.name_len)) < 0)
			continue;
		strbuf_reset(&raw);
		message_parser_unfold(&raw, f.value, f.value_len);
		strbuf_appends(out, cache_search_fields[which]);
		strbuf_appendc(out, ':');
		start = out->len;
		if (strcmp(cache_search_fields[which], "date") == 0)
			strbuf_append(out, raw.data != NULL ? raw.data : "", raw.len);
		else
			(void)rfc2047_decode(raw.data != NULL ? raw.data : "", raw.len, out);
		/* One line per occurrence: no line end may hide in a value. */
		for (i = start; i < out->len; i++) {
			if (out->data[i] == '\n' || out->data[i] == '\r' || out->data[i] == '\0')
				out->data[i] = ' ';
		}
		strbuf_appendc(out, '\n');
	}
	strbuf_free(&raw);
}

void message_cache_serialize(const struct message_parser_result *result,
			     struct strbuf *blob_out)
{
	struct strbuf s = STRBUF_INIT;
	const struct message_part *part;
	size_t start = blob_out->len;
	uint32_t sum;
	int i;

	strbuf_appendc(blob_out, MESSAGE_CACHE_VERSION);
	put_varint(blob_out, result->size);
	imap_envelope_write(&s, result->data, result->root);
	put_string(blob_out, &s);
	strbuf_reset(&s);
	imap_bodystructure_write(&s, result->data, result->root, false);
	put_string(blob_out, &s);
	strbuf_reset(&s);
	imap_bodystructure_write(&s, result->data, result->root, true);
	put_string(blob_out, &s);
	strbuf_reset(&s);
	cache_search_headers(result, &s);
	put_string(blob_out, &s);
	strbuf_free(&s);
	put_varint(blob_out, result->part_count);
	for (part = result->root; part != NULL; part = message_parser_part_next(part))
		put_part(blob_out, part);
	sum = cache_checksum((const unsigned char *)blob_out->data + start,
			     blob_out->len - start);
	for (i = 0; i < CACHE_CHECKSUM_SIZE; i++)
		strbuf_appendc(blob_out, (char)((sum >> (8 * i)) & 0xff));
}

int message_cache_build(const char *data, size_t size, struct strbuf *blob_out,
			const char **error_r)
{
	struct message_parser_result *result;

	if (data == NULL && size > 0)
		return error_set(error_r, "message_cache_build: no message data");
	result = message_parser_parse(data == NULL ? "" : data, size);
	message_cache_serialize(result, blob_out);
	message_parser_destroy(&result);
	return 0;
}

/* ---- decoding ---- */

struct reader {
	const unsigned char *p, *end;
};

static bool get_varint(struct reader *r, size_t *value_r)
{
	uint64_t v = 0;
	unsigned int shift;

	for (shift = 0; shift < 64; shift += 7) {
		unsigned char b;

		if (r->p >= r->end)
			return false;
		b = *r->p++;
		if (shift == 63 && (b & 0x7e) != 0)
			return false;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
#if SIZE_MAX < UINT64_MAX
			if (v > SIZE_MAX)
				return false;
#endif
			*value_r = (size_t)v;
			return true;
		}
	}
	return false;
}

static bool get_string(struct reader *r, const char **s_r, size_t *len_r)
{
	size_t len;

	if (!get_varint(r, &len) || len >= (size_t)(r->end - r->p) ||
	    r->p[len] != '\0')
		return false;
	*s_r = (const char *)r->p;
	*len_r = len;
	r->p += len + 1;
	return true;
}

/* A decoded part; parts are numbered in preorder. */
struct cache_part {
	unsigned char flags;
	unsigned int child_count;
	size_t header_offset, header_size, body_offset, body_size;
	int first_child, next_sibling;
};

struct cache_frame {
	size_t body_offset, body_end;
	unsigned int remaining;
	int index, last_child;
};

/* Reads one part's fields and checks its range against [base, limit). */
static bool cache_part_read(struct reader *r, size_t base, size_t limit,
			    struct cache_part *part)
{
	size_t cc, delta;

	if (r->p >= r->end)
		return false;
	part->flags = *r->p++;
	if (!get_varint(r, &cc) || !get_varint(r, &delta) ||
	    !get_varint(r, &part->header_size) || !get_varint(r, &part->body_size))
		return false;
	if ((part->flags & ~3) != 0 || part->flags == 3 ||
	    (cc > 0 && part->flags == 0) ||
	    ((part->flags & CACHE_FLAG_RFC822) != 0 && cc > 1) ||
	    cc > MESSAGE_PARSER_MAX_PARTS)
		return false;
	part->child_count = (unsigned int)cc;
	if (base > limit || delta > limit - base)
		return false;
	part->header_offset = base + delta;
	if (part->header_size > limit - part->header_offset)
		return false;
	part->body_offset = part->header_offset + part->header_size;
	if (part->body_size > limit - part->body_offset)
		return false;
	part->first_child = part->next_sibling = -1;
	return true;
}

/* Walks the encoded tree, checking it; fills `parts` when not NULL. */
static bool cache_parts_decode(const struct message_cache_view *view,
			       struct cache_part *parts)
{
	struct cache_frame frames[MESSAGE_PARSER_MAX_DEPTH + 1];
	struct reader r = { view->parts, view->parts + view->parts_len };
	unsigned int depth = 0, i;
	struct cache_part tmp;

	for (i = 0; i < view->part_count; i++) {
		struct cache_part *part = parts != NULL ? &parts[i] : &tmp;
		struct cache_frame *parent = NULL;

		while (depth > 0 && frames[depth - 1].remaining == 0)
			depth--;
		if (i > 0) {
			if (depth == 0)
				return false;
			parent = &frames[depth - 1];
			parent->remaining--;
		}
		if (!cache_part_read(&r, parent == NULL ? 0 : parent->body_offset,
				     parent == NULL ? view->message_size :
				     parent->body_end, part))
			return false;
		if (parent != NULL && parts != NULL) {
			if (parent->last_child < 0)
				parts[parent->index].first_child = (int)i;
			else
				parts[parent->last_child].next_sibling = (int)i;
		}
		if (parent != NULL)
			parent->last_child = (int)i;
		if (part->child_count == 0)
			continue;
		if (depth > MESSAGE_PARSER_MAX_DEPTH)
			return false;
		frames[depth].body_offset = part->body_offset;
		frames[depth].body_end = part->body_offset + part->body_size;
		frames[depth].remaining = part->child_count;
		frames[depth].index = (int)i;
		frames[depth].last_child = -1;
		depth++;
	}
	while (depth > 0 && frames[depth - 1].remaining == 0)
		depth--;
	return depth == 0 && r.p == r.end;
}

int message_cache_open(const void *blob, size_t size,
		       struct message_cache_view *view_r, const char **error_r)
{
	const unsigned char *b = blob;
	struct reader r;
	size_t count;
	uint32_t sum;
	int i;

	memset(view_r, 0, sizeof(*view_r));
	if (blob == NULL || size < 1 + CACHE_CHECKSUM_SIZE)
		return error_set(error_r, "message cache: blob truncated");
	if (b[0] != MESSAGE_CACHE_VERSION)
		return error_set(error_r, "message cache: version %u, expected %u",
				 b[0], MESSAGE_CACHE_VERSION);
	for (sum = 0, i = CACHE_CHECKSUM_SIZE; i-- > 0; )
		sum = (sum << 8) | b[size - CACHE_CHECKSUM_SIZE + i];
	if (sum != cache_checksum(b, size - CACHE_CHECKSUM_SIZE))
		return error_set(error_r, "message cache: checksum mismatch");
	r.p = b + 1;
	r.end = b + size - CACHE_CHECKSUM_SIZE;
	if (!get_varint(&r, &view_r->message_size) ||
	    !get_string(&r, &view_r->envelope, &view_r->envelope_len) ||
	    !get_string(&r, &view_r->body, &view_r->body_len) ||
	    !get_string(&r, &view_r->bodystructure, &view_r->bodystructure_len) ||
	    !get_string(&r, &view_r->search_headers, &view_r->search_headers_len) ||
	    !get_varint(&r, &count) || count == 0 ||
	    count > MESSAGE_PARSER_MAX_PARTS)
		return error_set(error_r, "message cache: malformed header");
	view_r->part_count = (unsigned int)count;
	view_r->parts = r.p;
	view_r->parts_len = (size_t)(r.end - r.p);
	if (!cache_parts_decode(view_r, NULL)) {
		memset(view_r, 0, sizeof(*view_r));
		return error_set(error_r, "message cache: malformed part tree");
	}
	return 0;
}

/* ---- section lookup ---- */

struct section_spec {
	unsigned int numbers[MESSAGE_PARSER_MAX_DEPTH * 2];
	unsigned int count;
	enum message_cache_section_kind kind;
};

static bool section_keyword(const char **p, const char *word)
{
	size_t len = strlen(word);

	if (strncasecmp(*p, word, len) != 0)
		return false;
	*p += len;
	return true;
}

static int section_parse_text(const char *p, struct section_spec *spec,
			      const char **error_r)
{
	if (section_keyword(&p, "HEADER.FIELDS.NOT"))
		spec->kind = MESSAGE_CACHE_SECTION_HEADER_FIELDS_NOT;
	else if (section_keyword(&p, "HEADER.FIELDS"))
		spec->kind = MESSAGE_CACHE_SECTION_HEADER_FIELDS;
	else if (section_keyword(&p, "HEADER"))
		spec->kind = MESSAGE_CACHE_SECTION_HEADER;
	else if (section_keyword(&p, "TEXT"))
		spec->kind = MESSAGE_CACHE_SECTION_TEXT;
	else if (section_keyword(&p, "MIME") && spec->count > 0)
		spec->kind = MESSAGE_CACHE_SECTION_MIME;
	else
		return error_set(error_r, "invalid section text");
	if (*p == '\0')
		return 0;
	if ((spec->kind == MESSAGE_CACHE_SECTION_HEADER_FIELDS ||
	     spec->kind == MESSAGE_CACHE_SECTION_HEADER_FIELDS_NOT) &&
	    (*p == ' ' || *p == '('))
		return 0;
	return error_set(error_r, "invalid section: trailing text");
}

static int section_parse(const char *p, struct section_spec *spec,
			 const char **error_r)
{
	spec->count = 0;
	spec->kind = MESSAGE_CACHE_SECTION_ALL;
	while (*p >= '0' && *p <= '9') {
		unsigned long n = 0;

		if (*p == '0')
			return error_set(error_r, "invalid section: part number 0");
		for (; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (unsigned long)(*p - '0');
			if (n > 1000000000UL)
				return error_set(error_r, "invalid section: number too big");
		}
		if (spec->count >= sizeof(spec->numbers) / sizeof(spec->numbers[0]))
			return error_set(error_r, "invalid section: too deep");
		spec->numbers[spec->count++] = (unsigned int)n;
		spec->kind = MESSAGE_CACHE_SECTION_PART;
		if (*p == '\0')
			return 0;
		if (*p++ != '.')
			return error_set(error_r, "invalid section: expected '.'");
	}
	if (*p == '\0' && spec->count == 0)
		return 0;
	return section_parse_text(p, spec, error_r);
}

static int cache_nth_child(const struct cache_part *parts, int idx, unsigned int n)
{
	int c = parts[idx].first_child;

	while (c >= 0 && --n > 0)
		c = parts[c].next_sibling;
	return c;
}

/* Follows the part numbers from the root; returns the part index or -1. */
static int section_walk(const struct cache_part *parts,
			const struct section_spec *spec)
{
	int cur = 0;
	bool is_message = true;
	unsigned int i;

	for (i = 0; i < spec->count; i++) {
		unsigned int n = spec->numbers[i];

		if (!is_message) {
			if ((parts[cur].flags & CACHE_FLAG_RFC822) != 0) {
				cur = parts[cur].first_child;
				if (cur < 0)
					return -1;
				is_message = true;
			} else if ((parts[cur].flags & CACHE_FLAG_MULTIPART) != 0) {
				cur = cache_nth_child(parts, cur, n);
				if (cur < 0)
					return -1;
				continue;
			} else {
				return -1;
			}
		}
		/* `cur` is a message: part n of it */
		if ((parts[cur].flags & CACHE_FLAG_MULTIPART) != 0)
			cur = cache_nth_child(parts, cur, n);
		else if (n != 1)
			return -1;
		if (cur < 0)
			return -1;
		is_message = false;
	}
	return cur;
}

static int section_range(const struct cache_part *parts, int idx,
			 const struct section_spec *spec,
			 struct message_cache_range *range_r)
{
	const struct cache_part *part = &parts[idx];
	bool header = spec->kind == MESSAGE_CACHE_SECTION_HEADER ||
		spec->kind == MESSAGE_CACHE_SECTION_HEADER_FIELDS ||
		spec->kind == MESSAGE_CACHE_SECTION_HEADER_FIELDS_NOT;

	range_r->kind = spec->kind;
	if (spec->kind == MESSAGE_CACHE_SECTION_PART ||
	    spec->kind == MESSAGE_CACHE_SECTION_MIME) {
		bool mime = spec->kind == MESSAGE_CACHE_SECTION_MIME;

		range_r->offset = mime ? part->header_offset : part->body_offset;
		range_r->size = mime ? part->header_size : part->body_size;
		return 1;
	}
	if (spec->count > 0) {
		/* HEADER and TEXT of a part: its encapsulated message */
		if ((part->flags & CACHE_FLAG_RFC822) == 0)
			return 0;
		if (part->first_child < 0) {
			range_r->offset = part->body_offset;
			range_r->size = 0;
			return 1;
		}
		part = &parts[part->first_child];
	}
	range_r->offset = header ? part->header_offset : part->body_offset;
	range_r->size = header ? part->header_size : part->body_size;
	return 1;
}

int message_cache_find_section(const struct message_cache_view *view,
			       const char *section,
			       struct message_cache_range *range_r,
			       const char **error_r)
{
	struct section_spec spec;
	struct cache_part *parts;
	int idx, ret;

	memset(range_r, 0, sizeof(*range_r));
	if (section_parse(section, &spec, error_r) < 0)
		return -1;
	if (spec.kind == MESSAGE_CACHE_SECTION_ALL) {
		range_r->size = view->message_size;
		return 1;
	}
	if (view->part_count == 0)
		return error_set(error_r, "message cache: view not opened");
	parts = xcalloc(view->part_count, sizeof(*parts));
	if (!cache_parts_decode(view, parts)) {
		free(parts);
		return error_set(error_r, "message cache: malformed part tree");
	}
	idx = section_walk(parts, &spec);
	ret = idx < 0 ? 0 : section_range(parts, idx, &spec, range_r);
	free(parts);
	return ret;
}

int message_cache_header(const struct message_cache_view *view, const char *field,
			 struct strbuf *out)
{
	size_t flen = strlen(field), pos = 0;
	int found = 0;

	if (cache_search_field(field, flen) < 0)
		return -1;
	while (pos < view->search_headers_len) {
		const char *line = view->search_headers + pos;
		const char *lf = memchr(line, '\n', view->search_headers_len - pos);
		size_t llen = lf != NULL ? (size_t)(lf - line) : view->search_headers_len - pos;

		if (llen > flen && line[flen] == ':' && strncasecmp(line, field, flen) == 0) {
			if (found)
				strbuf_appendc(out, '\n');
			strbuf_append(out, line + flen + 1, llen - flen - 1);
			found = 1;
		}
		pos += llen + 1;
	}
	return found;
}

int message_cache_search_headers(const void *blob, size_t size, const char **headers_r,
				 size_t *len_r)
{
	const unsigned char *b = blob;
	struct reader r;
	size_t msize;
	const char *skip;
	size_t skip_len;

	if (blob == NULL || size < 1 + CACHE_CHECKSUM_SIZE || b[0] != MESSAGE_CACHE_VERSION)
		return -1;
	r.p = b + 1;
	r.end = b + size - CACHE_CHECKSUM_SIZE;
	if (!get_varint(&r, &msize) || !get_string(&r, &skip, &skip_len) ||
	    !get_string(&r, &skip, &skip_len) || !get_string(&r, &skip, &skip_len) ||
	    !get_string(&r, headers_r, len_r))
		return -1;
	return 0;
}

int message_cache_header_in(const char *headers, size_t headers_len, const char *field,
			    struct strbuf *out)
{
	struct message_cache_view view;

	memset(&view, 0, sizeof(view));
	view.search_headers = headers;
	view.search_headers_len = headers_len;
	return message_cache_header(&view, field, out);
}
