#include "autoconfig.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "message-parser.h"
#include "xalloc.h"

/* ---- arena: every string and part of one result lives in it ---- */

struct message_parser_arena {
	struct message_parser_arena *next;
	size_t size, used;
	max_align_t data[];
};

#define ARENA_CHUNK_SIZE 8192

static void *arena_alloc(struct message_parser_result *result, size_t size)
{
	struct message_parser_arena *chunk = result->arena;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (chunk == NULL || chunk->size - chunk->used < size) {
		size_t cap = size > ARENA_CHUNK_SIZE ? size : ARENA_CHUNK_SIZE;

		chunk = xmalloc(sizeof(*chunk) + cap);
		chunk->size = cap;
		chunk->used = 0;
		chunk->next = result->arena;
		result->arena = chunk;
	}
	p = (char *)chunk->data + chunk->used;
	chunk->used += size;
	memset(p, 0, size);
	return p;
}

static char *arena_strndup(struct message_parser_result *result,
			   const char *s, size_t len)
{
	char *p = arena_alloc(result, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static char *arena_strnup_upper(struct message_parser_result *result,
				const char *s, size_t len)
{
	char *p = arena_strndup(result, s, len);
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] >= 'a' && p[i] <= 'z')
			p[i] = (char)(p[i] - 'a' + 'A');
	}
	return p;
}

void message_parser_destroy(struct message_parser_result **result)
{
	struct message_parser_arena *chunk, *next;

	if (*result == NULL)
		return;
	for (chunk = (*result)->arena; chunk != NULL; chunk = next) {
		next = chunk->next;
		free(chunk);
	}
	free(*result);
	*result = NULL;
}

/* ---- header fields ---- */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

void message_parser_header_iter_init(struct message_parser_header_iter *iter,
				     const char *data, size_t offset, size_t size)
{
	iter->data = data;
	iter->pos = offset;
	iter->end = offset + size;
}

static size_t header_line_end(const struct message_parser_header_iter *iter,
			      size_t pos)
{
	const char *eol = memchr(iter->data + pos, '\n', iter->end - pos);

	return eol == NULL ? iter->end : (size_t)(eol - iter->data) + 1;
}

/* Field names are printable ASCII without spaces (RFC 5322 ftext). */
static bool header_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if ((unsigned char)name[i] <= 0x20 || (unsigned char)name[i] >= 0x7f)
			return false;
	}
	return true;
}

bool message_parser_header_iter_next(struct message_parser_header_iter *iter,
				     struct message_header_field *field_r)
{
	const char *d = iter->data;

	while (iter->pos < iter->end) {
		size_t start = iter->pos, next = header_line_end(iter, start);
		const char *colon;
		size_t name_len, end;

		if (d[start] == '\n' || (d[start] == '\r' && next == start + 2 &&
					 d[start + 1] == '\n')) {
			iter->pos = iter->end;
			return false;
		}
		iter->pos = next;
		if (is_wsp(d[start]))
			continue;
		colon = memchr(d + start, ':', next - start);
		if (colon == NULL)
			continue;
		name_len = (size_t)(colon - (d + start));
		while (name_len > 0 && is_wsp(d[start + name_len - 1]))
			name_len--;
		if (!header_name_valid(d + start, name_len))
			continue;
		while (iter->pos < iter->end && is_wsp(d[iter->pos]))
			iter->pos = header_line_end(iter, iter->pos);
		end = iter->pos;
		if (end > start && d[end - 1] == '\n')
			end--;
		if (end > start && d[end - 1] == '\r')
			end--;
		field_r->name = d + start;
		field_r->name_len = name_len;
		field_r->value = colon + 1;
		field_r->value_len = end - (size_t)(colon + 1 - d);
		field_r->offset = start;
		field_r->size = iter->pos - start;
		return true;
	}
	return false;
}

static bool is_space_or_nl(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void message_parser_unfold(struct strbuf *out, const char *value, size_t len)
{
	size_t i, start;

	while (len > 0 && is_space_or_nl(value[len - 1]))
		len--;
	for (i = 0; i < len && is_space_or_nl(value[i]); i++)
		;
	for (start = i; i < len; i++) {
		if (value[i] != '\r' && value[i] != '\n')
			continue;
		strbuf_append(out, value + start, i - start);
		start = i + 1;
	}
	strbuf_append(out, value + start, len - start);
}

/* ---- RFC 2045 lexing of structured MIME fields ---- */

struct lex {
	const char *p, *end;
};

static void lex_skip_cfws(struct lex *lx)
{
	while (lx->p < lx->end) {
		unsigned int depth = 0;

		if (is_space_or_nl(*lx->p)) {
			lx->p++;
			continue;
		}
		if (*lx->p != '(')
			return;
		while (lx->p < lx->end) {
			char c = *lx->p++;

			if (c == '\\' && lx->p < lx->end)
				lx->p++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				break;
		}
	}
}

static bool lex_is_token_char(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool lex_token(struct lex *lx, const char **tok_r, size_t *len_r)
{
	const char *start = lx->p;

	while (lx->p < lx->end && lex_is_token_char((unsigned char)*lx->p))
		lx->p++;
	*tok_r = start;
	*len_r = (size_t)(lx->p - start);
	return *len_r > 0;
}

/* Appends the contents of the quoted string at lx->p (which is '"'); an
   unterminated string runs to the end. */
static void lex_quoted(struct lex *lx, struct strbuf *out)
{
	lx->p++;
	while (lx->p < lx->end) {
		char c = *lx->p++;

		if (c == '"')
			return;
		if (c == '\\' && lx->p < lx->end)
			c = *lx->p++;
		strbuf_appendc(out, c);
	}
}

/* A parameter value: a quoted string, or (leniently) any run of bytes up
   to ';', whitespace, '(' or '"', since real mail has unquoted tspecials. */
static void lex_value(struct lex *lx, struct strbuf *out)
{
	const char *start = lx->p;

	if (lx->p < lx->end && *lx->p == '"') {
		lex_quoted(lx, out);
		return;
	}
	while (lx->p < lx->end && *lx->p != ';' && *lx->p != '"' &&
	       *lx->p != '(' && (unsigned char)*lx->p > 0x20 && *lx->p != 0x7f)
		lx->p++;
	strbuf_append(out, start, (size_t)(lx->p - start));
}

static void lex_skip_to_semicolon(struct lex *lx)
{
	while (lx->p < lx->end && *lx->p != ';')
		lx->p++;
}

/* ---- parameters (RFC 2045 5.1, RFC 2231) ---- */

struct raw_param {
	const char *name;            /* as written, NUL-terminated, in arena */
	const char *value;
	size_t value_len;
};

struct param_list {
	struct raw_param raw[MESSAGE_PARSER_MAX_PARAMS];
	unsigned int count;
};

static void params_lex(struct message_parser_result *result, struct lex *lx,
		       struct param_list *list, struct strbuf *scratch)
{
	list->count = 0;
	while (list->count < MESSAGE_PARSER_MAX_PARAMS) {
		const char *name;
		size_t name_len;
		struct raw_param *rp;

		lex_skip_cfws(lx);
		if (lx->p >= lx->end)
			return;
		if (*lx->p != ';') {
			lex_skip_to_semicolon(lx);
			continue;
		}
		lx->p++;
		lex_skip_cfws(lx);
		if (!lex_token(lx, &name, &name_len))
			continue;
		lex_skip_cfws(lx);
		if (lx->p >= lx->end || *lx->p != '=')
			continue;
		lx->p++;
		lex_skip_cfws(lx);
		strbuf_reset(scratch);
		lex_value(lx, scratch);
		rp = &list->raw[list->count++];
		rp->name = arena_strndup(result, name, name_len);
		rp->value = arena_strndup(result, scratch->data == NULL ? "" :
					  scratch->data, scratch->len);
		rp->value_len = scratch->len;
	}
}

/* RFC 2231 attribute-char: CHAR except SPACE, CTLs, "*", "'", "%" and
   tspecials.  Anything else is percent-encoded in an extended value. */
static void param_pct_encode(struct strbuf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80 && lex_is_token_char(c) && c != '*' && c != '\'' &&
		    c != '%') {
			strbuf_appendc(out, (char)c);
			continue;
		}
		strbuf_appendc(out, '%');
		strbuf_appendc(out, hex[c >> 4]);
		strbuf_appendc(out, hex[c & 15]);
	}
}

/* Splits "name*3*" into base length, section (-1 for none) and whether it
   is extended.  Returns false for a name that is not RFC 2231 shaped. */
static bool param_name_split(const char *name, size_t *base_len_r,
			     int *section_r, bool *ext_r)
{
	const char *star = strchr(name, '*');
	const char *p;
	int section = 0;

	*section_r = -1;
	*ext_r = false;
	if (star == NULL || star == name) {
		*base_len_r = strlen(name);
		return star == NULL;
	}
	*base_len_r = (size_t)(star - name);
	if (star[1] == '\0') {
		*ext_r = true;
		return true;
	}
	for (p = star + 1; *p >= '0' && *p <= '9'; p++) {
		section = section * 10 + (*p - '0');
		if (section >= MESSAGE_PARSER_MAX_PARAMS)
			return false;
	}
	if (p == star + 1)
		return false;
	if (*p == '*') {
		*ext_r = true;
		p++;
	}
	*section_r = section;
	return *p == '\0';
}

struct param_out {
	struct message_param params[MESSAGE_PARSER_MAX_PARAMS + 1];
	unsigned int count;
};

static void param_out_add(struct message_parser_result *result,
			  struct param_out *out, const char *name, size_t name_len,
			  bool star, const char *value, size_t value_len)
{
	char *n;

	if (out->count >= MESSAGE_PARSER_MAX_PARAMS)
		return;
	n = arena_alloc(result, name_len + 2);
	memcpy(n, name, name_len);
	if (star)
		n[name_len++] = '*';
	n[name_len] = '\0';
	out->params[out->count].name = arena_strnup_upper(result, n, name_len);
	out->params[out->count].value = arena_strndup(result, value, value_len);
	out->count++;
}

/* Joins the continuations name*0, name*1, ... starting at raw[first]; marks
   the segments it consumed in `used`. */
static void params_join(struct message_parser_result *result,
			struct param_list *list, unsigned int first, bool *used,
			struct param_out *out, struct strbuf *scratch)
{
	const struct raw_param *seg[MESSAGE_PARSER_MAX_PARAMS] = { NULL };
	bool seg_ext[MESSAGE_PARSER_MAX_PARAMS] = { false };
	size_t base_len, blen;
	unsigned int i, n;
	bool any_ext = false, ext;
	int section;

	param_name_split(list->raw[first].name, &base_len, &section, &ext);
	for (i = first; i < list->count; i++) {
		if (used[i] || !param_name_split(list->raw[i].name, &blen,
						 &section, &ext) ||
		    section < 0 || blen != base_len ||
		    strncasecmp(list->raw[i].name, list->raw[first].name,
				base_len) != 0)
			continue;
		used[i] = true;
		if (seg[section] == NULL) {
			seg[section] = &list->raw[i];
			seg_ext[section] = ext;
		}
	}
	for (n = 0; n < MESSAGE_PARSER_MAX_PARAMS && seg[n] != NULL; n++)
		any_ext = any_ext || seg_ext[n];
	if (n == 0)
		return;
	strbuf_reset(scratch);
	for (i = 0; i < n; i++) {
		if (!any_ext || seg_ext[i])
			strbuf_append(scratch, seg[i]->value, seg[i]->value_len);
		else {
			if (i == 0)
				strbuf_append(scratch, "''", 2);
			param_pct_encode(scratch, seg[i]->value, seg[i]->value_len);
		}
	}
	param_out_add(result, out, list->raw[first].name, base_len, any_ext,
		      scratch->data, scratch->len);
}

static void params_finish(struct message_parser_result *result,
			  struct param_list *list, struct param_out *out,
			  struct strbuf *scratch)
{
	bool used[MESSAGE_PARSER_MAX_PARAMS] = { false };
	unsigned int i;

	out->count = 0;
	for (i = 0; i < list->count; i++) {
		const struct raw_param *rp = &list->raw[i];
		size_t base_len;
		int section;
		bool ext;

		if (used[i])
			continue;
		if (param_name_split(rp->name, &base_len, &section, &ext) &&
		    section >= 0) {
			params_join(result, list, i, used, out, scratch);
			continue;
		}
		used[i] = true;
		param_out_add(result, out, rp->name, strlen(rp->name), false,
			      rp->value, rp->value_len);
	}
}

static const struct message_param *params_copy(struct message_parser_result *result,
					       const struct param_out *out)
{
	struct message_param *p;

	if (out->count == 0)
		return NULL;
	p = arena_alloc(result, sizeof(*p) * out->count);
	memcpy(p, out->params, sizeof(*p) * out->count);
	return p;
}

/* ---- per-part MIME header ---- */

enum content_field {
	CF_TYPE = 0,
	CF_ENCODING,
	CF_ID,
	CF_DESCRIPTION,
	CF_DISPOSITION,
	CF_LANGUAGE,
	CF_LOCATION,
	CF_MD5,
	CF_COUNT
};

static const char *const content_field_names[CF_COUNT] = {
	"Content-Type", "Content-Transfer-Encoding", "Content-ID",
	"Content-Description", "Content-Disposition", "Content-Language",
	"Content-Location", "Content-MD5",
};

static const char *const envelope_field_names[MESSAGE_ENVELOPE_FIELD_COUNT] = {
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID",
};

static const struct message_param default_text_params[] = {
	{ "CHARSET", "US-ASCII" },
};

struct open_part {
	size_t body_line;            /* LFs before the body */
	struct message_part *last_child;
};

struct parser_boundary {
	const char *str;
	size_t len;
	struct message_part *part;
};

struct parser_ctx {
	struct message_parser_result *result;
	const char *data;
	size_t size;
	struct message_part *cur;    /* innermost open part */
	bool in_header;              /* cur's header has not ended yet */
	bool no_more_parts;          /* the part limit was hit */
	struct open_part open[MESSAGE_PARSER_MAX_DEPTH];  /* by depth */
	struct parser_boundary bounds[MESSAGE_PARSER_MAX_DEPTH];
	unsigned int nbounds;
	struct strbuf value, scratch;
	struct param_list raw;
	struct param_out out;
};

struct content_values {
	const char *value[CF_COUNT];
	size_t len[CF_COUNT];
};

static bool name_is(const struct message_header_field *f, const char *name)
{
	return f->name_len == strlen(name) &&
		strncasecmp(f->name, name, f->name_len) == 0;
}

static void header_collect(struct parser_ctx *ctx, struct message_part *part,
			   struct content_values *cv,
			   struct message_envelope_fields *env)
{
	struct message_parser_header_iter iter;
	struct message_header_field f;
	unsigned int i;

	memset(cv, 0, sizeof(*cv));
	message_parser_header_iter_init(&iter, ctx->data, part->header_offset,
					part->header_size);
	while (message_parser_header_iter_next(&iter, &f)) {
		for (i = 0; i < CF_COUNT; i++) {
			if (cv->value[i] == NULL && name_is(&f, content_field_names[i])) {
				cv->value[i] = f.value;
				cv->len[i] = f.value_len;
			}
		}
		for (i = 0; env != NULL && i < MESSAGE_ENVELOPE_FIELD_COUNT; i++) {
			if (!env->present[i] && name_is(&f, envelope_field_names[i])) {
				env->present[i] = true;
				env->offset[i] = (size_t)(f.value - ctx->data);
				env->size[i] = f.value_len;
			}
		}
	}
}

/* Unfolds a raw value into ctx->value and points `lx` at it. */
static void value_lex_init(struct parser_ctx *ctx, const char *v, size_t len,
			   struct lex *lx)
{
	strbuf_reset(&ctx->value);
	strbuf_append(&ctx->value, "", 0);
	message_parser_unfold(&ctx->value, v, len);
	lx->p = ctx->value.data;
	lx->end = ctx->value.data + ctx->value.len;
}

static const char *value_copy(struct parser_ctx *ctx, const char *v, size_t len)
{
	strbuf_reset(&ctx->value);
	strbuf_append(&ctx->value, "", 0);
	message_parser_unfold(&ctx->value, v, len);
	return arena_strndup(ctx->result, ctx->value.data, ctx->value.len);
}

static void parse_params(struct parser_ctx *ctx, struct lex *lx,
			 const struct message_param **params_r,
			 unsigned int *count_r)
{
	params_lex(ctx->result, lx, &ctx->raw, &ctx->scratch);
	params_finish(ctx->result, &ctx->raw, &ctx->out, &ctx->scratch);
	*params_r = params_copy(ctx->result, &ctx->out);
	*count_r = ctx->out.count;
}

static bool parse_content_type(struct parser_ctx *ctx, struct message_part *part,
			       const char *v, size_t len)
{
	const char *type, *subtype;
	size_t type_len, subtype_len;
	struct lex lx;

	value_lex_init(ctx, v, len, &lx);
	lex_skip_cfws(&lx);
	if (!lex_token(&lx, &type, &type_len))
		return false;
	lex_skip_cfws(&lx);
	if (lx.p >= lx.end || *lx.p != '/')
		return false;
	lx.p++;
	lex_skip_cfws(&lx);
	if (!lex_token(&lx, &subtype, &subtype_len))
		return false;
	part->type = arena_strnup_upper(ctx->result, type, type_len);
	part->subtype = arena_strnup_upper(ctx->result, subtype, subtype_len);
	parse_params(ctx, &lx, &part->params, &part->param_count);
	return true;
}

static void parse_disposition(struct parser_ctx *ctx, struct message_part *part,
			      const char *v, size_t len)
{
	const char *tok;
	size_t tok_len;
	struct lex lx;

	value_lex_init(ctx, v, len, &lx);
	lex_skip_cfws(&lx);
	if (!lex_token(&lx, &tok, &tok_len))
		return;
	part->disposition = arena_strnup_upper(ctx->result, tok, tok_len);
	parse_params(ctx, &lx, &part->disp_params, &part->disp_param_count);
}

static void parse_encoding(struct parser_ctx *ctx, struct message_part *part,
			   const char *v, size_t len)
{
	const char *tok;
	size_t tok_len;
	struct lex lx;

	value_lex_init(ctx, v, len, &lx);
	lex_skip_cfws(&lx);
	if (lex_token(&lx, &tok, &tok_len))
		part->encoding = arena_strnup_upper(ctx->result, tok, tok_len);
}

static void parse_language(struct parser_ctx *ctx, struct message_part *part,
			   const char *v, size_t len)
{
	const char *tags[MESSAGE_PARSER_MAX_LANGUAGES];
	const char **list;
	unsigned int n = 0;
	const char *tok;
	size_t tok_len;
	struct lex lx;

	value_lex_init(ctx, v, len, &lx);
	while (n < MESSAGE_PARSER_MAX_LANGUAGES) {
		lex_skip_cfws(&lx);
		if (lx.p >= lx.end)
			break;
		if (lex_token(&lx, &tok, &tok_len))
			tags[n++] = arena_strndup(ctx->result, tok, tok_len);
		else
			lx.p++;
	}
	if (n == 0)
		return;
	list = arena_alloc(ctx->result, sizeof(*list) * n);
	memcpy(list, tags, sizeof(*list) * n);
	part->languages = list;
	part->language_count = n;
}

static bool str_eq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static bool part_has_param(const struct message_part *part, const char *name)
{
	size_t len = strlen(name);
	unsigned int i;

	for (i = 0; i < part->param_count; i++) {
		const char *n = part->params[i].name;

		if (strncmp(n, name, len) == 0 &&
		    (n[len] == '\0' || (n[len] == '*' && n[len + 1] == '\0')))
			return true;
	}
	return false;
}

/* Defaults of RFC 2045 5.2 and RFC 2046 5.1.5, and the charset every text
   part is described with when it names none. */
static void part_default_type(struct parser_ctx *ctx, struct message_part *part)
{
	const struct message_part *parent = part->parent;
	struct message_param *params;

	if (part->type == NULL) {
		if (parent != NULL && parent->kind == MESSAGE_PART_MULTIPART &&
		    str_eq(parent->subtype, "DIGEST")) {
			part->type = "MESSAGE";
			part->subtype = "RFC822";
			return;
		}
		part->type = "TEXT";
		part->subtype = "PLAIN";
	}
	if (!str_eq(part->type, "TEXT") || part_has_param(part, "CHARSET"))
		return;
	params = arena_alloc(ctx->result, sizeof(*params) * (part->param_count + 1));
	if (part->param_count > 0)
		memcpy(params, part->params, sizeof(*params) * part->param_count);
	params[part->param_count++] = default_text_params[0];
	part->params = params;
}

static void part_degrade(struct message_part *part)
{
	part->kind = MESSAGE_PART_LEAF;
	part->degraded = true;
	part->type = "TEXT";
	part->subtype = "PLAIN";
	part->params = default_text_params;
	part->param_count = 1;
}

static const char *part_boundary(const struct message_part *part)
{
	unsigned int i;

	for (i = 0; i < part->param_count; i++) {
		if (strcmp(part->params[i].name, "BOUNDARY") == 0 &&
		    part->params[i].value[0] != '\0')
			return part->params[i].value;
	}
	return NULL;
}

/* Whether a container may open at `part`: room for its children in depth
   and in the part budget. */
static bool part_container_allowed(struct parser_ctx *ctx,
				   const struct message_part *part)
{
	if (part->depth + 1 >= MESSAGE_PARSER_MAX_DEPTH) {
		ctx->result->depth_limited = true;
		return false;
	}
	if (ctx->no_more_parts ||
	    ctx->result->part_count >= MESSAGE_PARSER_MAX_PARTS) {
		ctx->result->part_limited = true;
		return false;
	}
	return true;
}

static void part_decide_kind(struct parser_ctx *ctx, struct message_part *part)
{
	const char *enc = part->encoding;

	part->kind = MESSAGE_PART_LEAF;
	if (str_eq(part->type, "MULTIPART")) {
		if (part_boundary(part) == NULL || !part_container_allowed(ctx, part))
			part_degrade(part);
		else
			part->kind = MESSAGE_PART_MULTIPART;
	} else if (str_eq(part->type, "MESSAGE") && str_eq(part->subtype, "RFC822")) {
		if ((enc != NULL && strcmp(enc, "7BIT") != 0 &&
		     strcmp(enc, "8BIT") != 0 && strcmp(enc, "BINARY") != 0) ||
		    !part_container_allowed(ctx, part))
			part_degrade(part);
		else
			part->kind = MESSAGE_PART_MESSAGE_RFC822;
	}
}

/* The header of `part` ends at `hdr_end`: decode its fields. */
static void part_header_end(struct parser_ctx *ctx, struct message_part *part,
			    size_t hdr_end)
{
	struct message_envelope_fields *env = NULL;
	struct content_values cv;

	part->header_size = hdr_end - part->header_offset;
	part->body_offset = hdr_end;
	if (part->is_message) {
		env = arena_alloc(ctx->result, sizeof(*env));
		part->envelope = env;
	}
	header_collect(ctx, part, &cv, env);
	if (cv.value[CF_TYPE] == NULL ||
	    !parse_content_type(ctx, part, cv.value[CF_TYPE], cv.len[CF_TYPE])) {
		part->type = NULL;
		part->params = NULL;
		part->param_count = 0;
	}
	if (cv.value[CF_ENCODING] != NULL)
		parse_encoding(ctx, part, cv.value[CF_ENCODING], cv.len[CF_ENCODING]);
	if (cv.value[CF_DISPOSITION] != NULL)
		parse_disposition(ctx, part, cv.value[CF_DISPOSITION],
				  cv.len[CF_DISPOSITION]);
	if (cv.value[CF_LANGUAGE] != NULL)
		parse_language(ctx, part, cv.value[CF_LANGUAGE], cv.len[CF_LANGUAGE]);
	if (cv.value[CF_ID] != NULL)
		part->id = value_copy(ctx, cv.value[CF_ID], cv.len[CF_ID]);
	if (cv.value[CF_DESCRIPTION] != NULL)
		part->description = value_copy(ctx, cv.value[CF_DESCRIPTION],
					       cv.len[CF_DESCRIPTION]);
	if (cv.value[CF_MD5] != NULL)
		part->md5 = value_copy(ctx, cv.value[CF_MD5], cv.len[CF_MD5]);
	if (cv.value[CF_LOCATION] != NULL)
		part->location = value_copy(ctx, cv.value[CF_LOCATION],
					    cv.len[CF_LOCATION]);
	part_default_type(ctx, part);
	part_decide_kind(ctx, part);
}

/* ---- the line state machine ---- */

static struct message_part *part_new(struct parser_ctx *ctx,
				     struct message_part *parent,
				     size_t header_offset)
{
	struct message_part *part;

	if (ctx->result->part_count >= MESSAGE_PARSER_MAX_PARTS) {
		ctx->result->part_limited = true;
		return NULL;
	}
	part = arena_alloc(ctx->result, sizeof(*part));
	ctx->result->part_count++;
	part->header_offset = header_offset;
	part->body_offset = header_offset;
	part->parent = parent;
	if (parent != NULL) {
		struct open_part *op = &ctx->open[parent->depth];

		part->depth = parent->depth + 1;
		if (op->last_child == NULL)
			parent->children = part;
		else
			op->last_child->next = part;
		op->last_child = part;
		parent->child_count++;
	}
	ctx->open[part->depth].last_child = NULL;
	return part;
}

/* The header of ctx->cur ended with a blank line; its body starts at
   `body_offset`, which is line number `body_line`. */
static void part_body_start(struct parser_ctx *ctx, size_t body_line)
{
	struct message_part *part = ctx->cur, *child;

	ctx->in_header = false;
	ctx->open[part->depth].body_line = body_line;
	if (part->kind == MESSAGE_PART_MULTIPART) {
		struct parser_boundary *b = &ctx->bounds[ctx->nbounds++];

		b->str = part_boundary(part);
		b->len = strlen(b->str);
		b->part = part;
	} else if (part->kind == MESSAGE_PART_MESSAGE_RFC822) {
		child = part_new(ctx, part, part->body_offset);
		if (child == NULL)
			return;
		child->is_message = true;
		ctx->cur = child;
		ctx->in_header = true;
	}
}

/* Ends `part` at `end`, where `end_lines` LFs precede `end`. */
static void part_close(struct parser_ctx *ctx, struct message_part *part,
		       size_t end, size_t end_lines)
{
	/* A part that began after the line end belonging to the delimiter
	   (an empty part, or the empty message of an empty message/rfc822)
	   is moved back to `end`, so that it stays inside its parent. */
	if (part->header_offset > end)
		part->header_offset = end;
	if (part == ctx->cur && ctx->in_header) {
		part_header_end(ctx, part, end);
		ctx->in_header = false;
		return;
	}
	if (end <= part->body_offset) {
		/* The blank line that ended the header is the delimiter's line
		   end: the header stops before it and the body is empty. */
		part->header_size = end - part->header_offset;
		part->body_offset = end;
		return;
	}
	part->body_size = end - part->body_offset;
	part->body_lines = end_lines - ctx->open[part->depth].body_line +
		(ctx->data[end - 1] != '\n' ? 1 : 0);
}

/* Longest boundary on the stack that the line at data[pos..next) starts
   with after "--" (RFC 2046 5.1.1: only the beginning has to match); the
   innermost wins a tie.  Returns its index or -1. */
static int boundary_find(const struct parser_ctx *ctx, size_t pos, size_t next)
{
	const char *line = ctx->data + pos + 2;
	size_t avail = next - pos - 2;
	int best = -1;
	unsigned int i;

	for (i = ctx->nbounds; i-- > 0; ) {
		const struct parser_boundary *b = &ctx->bounds[i];

		if (b->len <= avail && memcmp(b->str, line, b->len) == 0 &&
		    (best < 0 || b->len > ctx->bounds[best].len))
			best = (int)i;
	}
	return best;
}

/* A delimiter line of bounds[k] starts at `pos` (line number `line`): the
   line end before it belongs to the delimiter (RFC 2046 5.1.1), so every
   part open inside the multipart ends just before that line end. */
static void parse_boundary(struct parser_ctx *ctx, unsigned int k, size_t pos,
			   size_t next, size_t line)
{
	struct message_part *mp = ctx->bounds[k].part, *p, *child;
	size_t blen = ctx->bounds[k].len, end = pos, end_lines = line;
	bool close = next - pos >= blen + 4 &&
		ctx->data[pos + 2 + blen] == '-' && ctx->data[pos + 3 + blen] == '-';

	if (pos > 0) {
		end--;
		end_lines--;
		if (end > 0 && ctx->data[end - 1] == '\r')
			end--;
	}
	for (p = ctx->cur; p != mp; p = p->parent) {
		part_close(ctx, p, end, end_lines);
		ctx->cur = p->parent;
	}
	ctx->in_header = false;
	ctx->nbounds = close ? k : k + 1;
	if (close)
		return;
	child = part_new(ctx, mp, next);
	if (child == NULL) {
		/* The rest of the message stays in the multipart's body. */
		ctx->no_more_parts = true;
		ctx->nbounds = 0;
		return;
	}
	ctx->cur = child;
	ctx->in_header = true;
}

static bool line_is_blank(const char *data, size_t pos, size_t next)
{
	return (next - pos == 1 && data[pos] == '\n') ||
		(next - pos == 2 && data[pos] == '\r' && data[pos + 1] == '\n');
}

static void parse_line(struct parser_ctx *ctx, size_t pos, size_t next,
		       size_t line)
{
	if (ctx->nbounds > 0 && next - pos >= 2 && ctx->data[pos] == '-' &&
	    ctx->data[pos + 1] == '-') {
		int k = boundary_find(ctx, pos, next);

		if (k >= 0) {
			parse_boundary(ctx, (unsigned int)k, pos, next, line);
			return;
		}
	}
	if (ctx->in_header && line_is_blank(ctx->data, pos, next)) {
		part_header_end(ctx, ctx->cur, next);
		part_body_start(ctx, line + 1);
	}
}

struct message_parser_result *message_parser_parse(const char *data, size_t size)
{
	struct parser_ctx *ctx = xcalloc(1, sizeof(*ctx));
	struct message_parser_result *result = xcalloc(1, sizeof(*result));
	size_t pos = 0, line = 0;
	struct message_part *p;

	result->data = data;
	result->size = size;
	ctx->result = result;
	ctx->data = data;
	ctx->size = size;
	result->root = part_new(ctx, NULL, 0);
	result->root->is_message = true;
	ctx->cur = result->root;
	ctx->in_header = true;
	while (pos < size) {
		const char *eol = memchr(data + pos, '\n', size - pos);
		size_t next = eol == NULL ? size : (size_t)(eol - data) + 1;

		parse_line(ctx, pos, next, line);
		if (eol != NULL)
			line++;
		pos = next;
	}
	for (p = ctx->cur; p != NULL; p = p->parent) {
		part_close(ctx, p, size, line);
		ctx->cur = p->parent;
	}
	strbuf_free(&ctx->value);
	strbuf_free(&ctx->scratch);
	free(ctx);
	return result;
}

/* ---- lookups for the rest of the server ---- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char *param_decode_extended(const char *value, struct strbuf *scratch)
{
	const char *p = strchr(value, '\'');

	if (p != NULL && (p = strchr(p + 1, '\'')) != NULL)
		value = p + 1;
	strbuf_reset(scratch);
	strbuf_append(scratch, "", 0);
	for (p = value; *p != '\0'; p++) {
		if (*p == '%' && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0) {
			strbuf_appendc(scratch, (char)(hex_value(p[1]) * 16 +
						       hex_value(p[2])));
			p += 2;
		} else {
			strbuf_appendc(scratch, *p);
		}
	}
	return scratch->data;
}

const char *message_parser_param_get(const struct message_part *part,
				     const char *name, struct strbuf *scratch)
{
	size_t len = strlen(name);
	unsigned int i;

	for (i = 0; i < part->param_count; i++) {
		if (strcasecmp(part->params[i].name, name) == 0)
			return part->params[i].value;
	}
	for (i = 0; i < part->param_count; i++) {
		const char *n = part->params[i].name;

		if (strncasecmp(n, name, len) == 0 && n[len] == '*' &&
		    n[len + 1] == '\0')
			return param_decode_extended(part->params[i].value, scratch);
	}
	return NULL;
}

const struct message_part *message_parser_part_next(const struct message_part *part)
{
	if (part->children != NULL)
		return part->children;
	for (; part != NULL; part = part->parent) {
		if (part->next != NULL)
			return part->next;
	}
	return NULL;
}

void message_parser_text_iter_init(struct message_parser_text_iter *iter,
				   const struct message_parser_result *result)
{
	iter->next = result->root;
	memset(&iter->scratch, 0, sizeof(iter->scratch));
}

bool message_parser_text_iter_next(struct message_parser_text_iter *iter,
				   struct message_text_part *text_r)
{
	const struct message_part *part;

	while ((part = iter->next) != NULL) {
		iter->next = message_parser_part_next(part);
		if (part->kind != MESSAGE_PART_LEAF || !str_eq(part->type, "TEXT"))
			continue;
		text_r->part = part;
		text_r->subtype = part->subtype;
		text_r->charset = message_parser_param_get(part, "CHARSET",
							   &iter->scratch);
		if (text_r->charset == NULL || text_r->charset[0] == '\0')
			text_r->charset = "US-ASCII";
		text_r->encoding = part->encoding != NULL ? part->encoding : "7BIT";
		text_r->body_offset = part->body_offset;
		text_r->body_size = part->body_size;
		return true;
	}
	return false;
}

void message_parser_text_iter_deinit(struct message_parser_text_iter *iter)
{
	strbuf_free(&iter->scratch);
	iter->next = NULL;
}
