#include "autoconfig.h"
#include <stdbool.h>
#include <string.h>
#include "imap-envelope.h"
#include "imap-quote.h"

/* ---- RFC 5322 address lexing, on demand over the unfolded value ---- */

enum atok_type {
	ATOK_ATOM,        /* atext and '.' runs (also 8-bit bytes) */
	ATOK_QUOTED,      /* "..." */
	ATOK_DLITERAL,    /* [...] */
	ATOK_COMMENT,     /* (...) */
	ATOK_SPECIAL,     /* any other single byte */
};

struct atok {
	enum atok_type type;
	char special;
	size_t start, end;           /* raw bytes in the source */
};

struct addr_parser {
	const char *src;
	size_t len, pos;
	struct strbuf name, adl, mailbox, host;
	imap_envelope_address_cb *cb;
	void *context;
	unsigned int count;
};

static bool addr_is_atom_char(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if (c <= 0x20 || c == 0x7f)
		return false;
	return strchr("()<>[]:;@\\,\"", c) == NULL;
}

/* Skips a delimited run starting at src[pos] (the opener) honouring
   backslash escapes and, for comments, nesting; returns the end. */
static size_t addr_skip_delimited(const char *src, size_t len, size_t pos,
				  char open, char close)
{
	unsigned int depth = 0;

	while (pos < len) {
		char c = src[pos++];

		if (c == '\\' && pos < len)
			pos++;
		else if (c == open && (open != close || depth == 0))
			depth++;
		else if (c == close && --depth == 0)
			break;
	}
	return pos;
}

/* Lexes the token at or after `pos`; returns false at the end. */
static bool addr_peek(const struct addr_parser *ap, size_t pos, struct atok *t)
{
	const char *s = ap->src;

	while (pos < ap->len && (s[pos] == ' ' || s[pos] == '\t' ||
				 s[pos] == '\r' || s[pos] == '\n'))
		pos++;
	if (pos >= ap->len)
		return false;
	t->start = pos;
	t->special = s[pos];
	if (s[pos] == '(') {
		t->type = ATOK_COMMENT;
		t->end = addr_skip_delimited(s, ap->len, pos, '(', ')');
	} else if (s[pos] == '"') {
		t->type = ATOK_QUOTED;
		t->end = addr_skip_delimited(s, ap->len, pos, '"', '"');
	} else if (s[pos] == '[') {
		t->type = ATOK_DLITERAL;
		t->end = addr_skip_delimited(s, ap->len, pos, '[', ']');
	} else if (addr_is_atom_char((unsigned char)s[pos])) {
		t->type = ATOK_ATOM;
		for (t->end = pos; t->end < ap->len &&
			     addr_is_atom_char((unsigned char)s[t->end]); t->end++)
			;
	} else {
		t->type = ATOK_SPECIAL;
		t->end = pos + 1;
	}
	return true;
}

static bool tok_is_word(const struct atok *t)
{
	return t->type == ATOK_ATOM || t->type == ATOK_QUOTED;
}

static bool tok_is(const struct atok *t, char special)
{
	return t->type == ATOK_SPECIAL && t->special == special;
}

/* Appends what a token means: quoted strings and comments lose their
   delimiters and escapes; atoms and domain literals stay as written. */
static void tok_append_text(const struct addr_parser *ap, const struct atok *t,
			    struct strbuf *out)
{
	unsigned int depth = 1;
	size_t i;

	if (t->type != ATOK_QUOTED && t->type != ATOK_COMMENT) {
		strbuf_append(out, ap->src + t->start, t->end - t->start);
		return;
	}
	for (i = t->start + 1; i < t->end; i++) {
		char c = ap->src[i];

		if (c == '\\' && i + 1 < t->end) {
			strbuf_appendc(out, ap->src[++i]);
			continue;
		}
		if (t->type == ATOK_QUOTED && c == '"')
			break;
		if (t->type == ATOK_COMMENT && c == '(')
			depth++;
		else if (t->type == ATOK_COMMENT && c == ')' && --depth == 0)
			break;
		strbuf_appendc(out, c);
	}
}

/* ---- address structure ---- */

static void addr_emit(struct addr_parser *ap, const char *name, const char *adl,
		      const char *mailbox, const char *host)
{
	struct imap_envelope_address addr = { name, adl, mailbox, host };

	ap->cb(&addr, ap->context);
	ap->count++;
}

static const char *sb_or(struct strbuf *sb, const char *fallback)
{
	return sb->len > 0 ? sb->data : fallback;
}

static void addr_emit_mailbox(struct addr_parser *ap)
{
	addr_emit(ap, sb_or(&ap->name, NULL), sb_or(&ap->adl, NULL),
		  sb_or(&ap->mailbox, IMAP_ENVELOPE_MISSING_MAILBOX),
		  sb_or(&ap->host, IMAP_ENVELOPE_MISSING_DOMAIN));
}

/* Appends the words between `from` and `to` joined by single spaces. */
static void addr_phrase(const struct addr_parser *ap, size_t from, size_t to,
			struct strbuf *out)
{
	struct atok t;

	while (from < to && addr_peek(ap, from, &t) && t.start < to) {
		if (tok_is_word(&t)) {
			if (out->len > 0)
				strbuf_appendc(out, ' ');
			tok_append_text(ap, &t, out);
		}
		from = t.end;
	}
}

/* Appends the words between `from` and `to` with nothing between them
   (a local part, possibly in the obsolete "a . b" form). */
static void addr_local_part(const struct addr_parser *ap, size_t from, size_t to,
			    struct strbuf *out)
{
	struct atok t;

	while (from < to && addr_peek(ap, from, &t) && t.start < to) {
		if (tok_is_word(&t))
			tok_append_text(ap, &t, out);
		from = t.end;
	}
}

/* Reads a domain (atoms and domain literals, comments skipped) at ap->pos;
   the last comment seen is stored in *comment_r. */
static void addr_domain(struct addr_parser *ap, struct atok *comment_r)
{
	struct atok t;

	while (addr_peek(ap, ap->pos, &t) &&
	       (t.type == ATOK_ATOM || t.type == ATOK_DLITERAL ||
		t.type == ATOK_COMMENT)) {
		if (t.type == ATOK_COMMENT)
			*comment_r = t;
		else
			tok_append_text(ap, &t, &ap->host);
		ap->pos = t.end;
	}
}

/* Skips what follows an address up to its separator, noting comments. */
static void addr_skip_tail(struct addr_parser *ap, struct atok *comment_r)
{
	struct atok t;

	while (addr_peek(ap, ap->pos, &t)) {
		if (tok_is(&t, ',') || tok_is(&t, ';'))
			return;
		if (t.type == ATOK_COMMENT)
			*comment_r = t;
		ap->pos = t.end;
	}
}

/* angle-addr after its '<': [obs-route] local-part "@" domain ">" */
static void addr_angle(struct addr_parser *ap)
{
	struct atok t, ignored;
	size_t local_start;

	if (addr_peek(ap, ap->pos, &t) && tok_is(&t, '@')) {
		while (addr_peek(ap, ap->pos, &t) && !tok_is(&t, ':') &&
		       !tok_is(&t, '>')) {
			if (t.type != ATOK_COMMENT)
				strbuf_append(&ap->adl, ap->src + t.start, t.end - t.start);
			ap->pos = t.end;
		}
		if (addr_peek(ap, ap->pos, &t) && tok_is(&t, ':'))
			ap->pos = t.end;
	}
	local_start = ap->pos;
	while (addr_peek(ap, ap->pos, &t) && (tok_is_word(&t) ||
					     t.type == ATOK_COMMENT))
		ap->pos = t.end;
	addr_local_part(ap, local_start, ap->pos, &ap->mailbox);
	if (addr_peek(ap, ap->pos, &t) && tok_is(&t, '@')) {
		ap->pos = t.end;
		addr_domain(ap, &ignored);
	}
	while (addr_peek(ap, ap->pos, &t) && !tok_is(&t, ',') && !tok_is(&t, ';')) {
		ap->pos = t.end;
		if (tok_is(&t, '>'))
			break;
	}
}

static void addr_reset(struct addr_parser *ap)
{
	strbuf_reset(&ap->name);
	strbuf_reset(&ap->adl);
	strbuf_reset(&ap->mailbox);
	strbuf_reset(&ap->host);
}

static void addr_parse_one(struct addr_parser *ap, bool in_group);

/* group = display-name ":" [group-list] ";" ; pos is after the ':' */
static void addr_group(struct addr_parser *ap, size_t name_from, size_t name_to)
{
	struct atok t;

	addr_reset(ap);
	strbuf_append(&ap->mailbox, "", 0);
	addr_phrase(ap, name_from, name_to, &ap->mailbox);
	addr_emit(ap, NULL, NULL, ap->mailbox.data, NULL);
	while (addr_peek(ap, ap->pos, &t)) {
		size_t before = ap->pos;

		if (tok_is(&t, ';')) {
			ap->pos = t.end;
			break;
		}
		if (tok_is(&t, ',')) {
			ap->pos = t.end;
			continue;
		}
		addr_parse_one(ap, true);
		if (ap->pos == before)
			ap->pos = t.end;
	}
	addr_emit(ap, NULL, NULL, NULL, NULL);
}

/* Words-only text with no address syntax after it: one word is taken as a
   local part without domain, several as a name without address. */
static void addr_words_only(struct addr_parser *ap, size_t from, size_t to,
			    unsigned int words, const struct atok *comment)
{
	if (words == 0)
		return;
	if (words == 1)
		addr_local_part(ap, from, to, &ap->mailbox);
	else
		addr_phrase(ap, from, to, &ap->name);
	if (ap->name.len == 0 && comment->type == ATOK_COMMENT)
		tok_append_text(ap, comment, &ap->name);
	addr_emit_mailbox(ap);
}

/* address = mailbox / group, starting at ap->pos.  Always leaves ap->pos at
   a separator, the end, or past what it could not use. */
static void addr_parse_one(struct addr_parser *ap, bool in_group)
{
	struct atok t, comment = { ATOK_SPECIAL, 0, 0, 0 };
	size_t start = ap->pos, pos = ap->pos;
	unsigned int words = 0;
	bool more;

	addr_reset(ap);
	while ((more = addr_peek(ap, pos, &t)) &&
	       (tok_is_word(&t) || t.type == ATOK_COMMENT)) {
		if (t.type == ATOK_COMMENT)
			comment = t;
		else
			words++;
		pos = t.end;
	}
	ap->pos = pos;
	if (more && tok_is(&t, '<')) {
		addr_phrase(ap, start, pos, &ap->name);
		ap->pos = t.end;
		addr_angle(ap);
		addr_skip_tail(ap, &comment);
	} else if (more && tok_is(&t, ':') && !in_group) {
		ap->pos = t.end;
		addr_group(ap, start, pos);
		return;
	} else if (more && tok_is(&t, '@')) {
		addr_local_part(ap, start, pos, &ap->mailbox);
		ap->pos = t.end;
		addr_domain(ap, &comment);
		addr_skip_tail(ap, &comment);
	} else {
		addr_words_only(ap, start, pos, words, &comment);
		return;
	}
	if (ap->name.len == 0 && comment.type == ATOK_COMMENT)
		tok_append_text(ap, &comment, &ap->name);
	addr_emit_mailbox(ap);
}

unsigned int imap_envelope_parse_addresses(const char *value, size_t len,
					   imap_envelope_address_cb *cb,
					   void *context)
{
	struct addr_parser ap;
	struct strbuf unfolded = STRBUF_INIT;
	struct atok t;

	memset(&ap, 0, sizeof(ap));
	strbuf_append(&unfolded, "", 0);
	message_parser_unfold(&unfolded, value, len);
	ap.src = unfolded.data;
	ap.len = unfolded.len;
	ap.cb = cb;
	ap.context = context;
	while (addr_peek(&ap, ap.pos, &t)) {
		size_t before = ap.pos;

		if (tok_is(&t, ',') || tok_is(&t, ';')) {
			ap.pos = t.end;
			continue;
		}
		addr_parse_one(&ap, false);
		if (ap.pos == before)
			ap.pos = t.end;
	}
	strbuf_free(&ap.name);
	strbuf_free(&ap.adl);
	strbuf_free(&ap.mailbox);
	strbuf_free(&ap.host);
	strbuf_free(&unfolded);
	return ap.count;
}

/* ---- rendering ---- */

static void envelope_address_cb(const struct imap_envelope_address *addr,
				void *context)
{
	struct strbuf *out = context;

	strbuf_appendc(out, '(');
	imap_quote_nstring_cstr(out, addr->name);
	strbuf_appendc(out, ' ');
	imap_quote_nstring_cstr(out, addr->adl);
	strbuf_appendc(out, ' ');
	imap_quote_nstring_cstr(out, addr->mailbox);
	strbuf_appendc(out, ' ');
	imap_quote_nstring_cstr(out, addr->host);
	strbuf_appendc(out, ')');
}

unsigned int imap_envelope_write_addresses(struct strbuf *out, const char *value,
					   size_t len)
{
	size_t mark = out->len;
	unsigned int n;

	strbuf_appendc(out, '(');
	n = imap_envelope_parse_addresses(value, len, envelope_address_cb, out);
	if (n == 0) {
		out->len = mark;
		strbuf_append(out, "NIL", 3);
	} else {
		strbuf_appendc(out, ')');
	}
	return n;
}

static void envelope_write_nstring(struct strbuf *out, const char *data,
				   const struct message_envelope_fields *env,
				   enum message_envelope_field field,
				   struct strbuf *scratch)
{
	if (env == NULL || !env->present[field]) {
		strbuf_append(out, "NIL", 3);
		return;
	}
	strbuf_reset(scratch);
	strbuf_append(scratch, "", 0);
	message_parser_unfold(scratch, data + env->offset[field], env->size[field]);
	imap_quote_string(out, scratch->data, scratch->len);
}

/* Writes an address field; returns false (writing nothing) when it has no
   address, so that sender and reply-to can fall back to from. */
static bool envelope_write_list(struct strbuf *out, const char *data,
				const struct message_envelope_fields *env,
				enum message_envelope_field field)
{
	size_t mark = out->len;

	if (env == NULL || !env->present[field])
		return false;
	if (imap_envelope_write_addresses(out, data + env->offset[field],
					  env->size[field]) > 0)
		return true;
	out->len = mark;
	out->data[mark] = '\0';
	return false;
}

void imap_envelope_write(struct strbuf *out, const char *data,
			 const struct message_part *msg)
{
	const struct message_envelope_fields *env = msg->envelope;
	struct strbuf scratch = STRBUF_INIT, from = STRBUF_INIT;
	unsigned int f;

	strbuf_append(&from, "", 0);
	if (!envelope_write_list(&from, data, env, MESSAGE_ENVELOPE_FROM))
		strbuf_append(&from, "NIL", 3);
	strbuf_appendc(out, '(');
	envelope_write_nstring(out, data, env, MESSAGE_ENVELOPE_DATE, &scratch);
	strbuf_appendc(out, ' ');
	envelope_write_nstring(out, data, env, MESSAGE_ENVELOPE_SUBJECT, &scratch);
	strbuf_appendc(out, ' ');
	strbuf_append(out, from.data, from.len);
	for (f = MESSAGE_ENVELOPE_SENDER; f <= MESSAGE_ENVELOPE_BCC; f++) {
		strbuf_appendc(out, ' ');
		if (envelope_write_list(out, data, env, f))
			continue;
		if (f == MESSAGE_ENVELOPE_SENDER || f == MESSAGE_ENVELOPE_REPLY_TO)
			strbuf_append(out, from.data, from.len);
		else
			strbuf_append(out, "NIL", 3);
	}
	strbuf_appendc(out, ' ');
	envelope_write_nstring(out, data, env, MESSAGE_ENVELOPE_IN_REPLY_TO, &scratch);
	strbuf_appendc(out, ' ');
	envelope_write_nstring(out, data, env, MESSAGE_ENVELOPE_MESSAGE_ID, &scratch);
	strbuf_appendc(out, ')');
	strbuf_free(&scratch);
	strbuf_free(&from);
}
