#include "autoconfig.h"
#include <string.h>
#include <strings.h>
#include "strbuf.h"
#include "charset.h"
#include "transfer-decode.h"
#include "rfc2047.h"

/* Longest charset name accepted in an encoded word. */
#define RFC2047_CHARSET_MAX 64

/* One parsed "=?charset[*lang]?E?text?=". */
struct rfc2047_word {
	char charset[RFC2047_CHARSET_MAX + 1]; /* language suffix removed */
	char encoding;                         /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t end; /* offset just past the closing "?=" */
};

/* Decoded words not yet converted: consecutive words in one charset are
   collected here so that a multi-byte character split between two words
   (which mailers do) is converted whole. */
struct rfc2047_ctx {
	struct strbuf *out;
	struct strbuf raw;
	char charset[RFC2047_CHARSET_MAX + 1]; /* "" when nothing is pending */
};

static int rfc2047_is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7F && c != '?';
}

/* Parses the encoded word starting at in[pos] ("=?"); returns 0, or -1
   when it is not a well-formed encoded word. */
static int rfc2047_parse(const char *in, size_t len, size_t pos,
			 struct rfc2047_word *w)
{
	size_t i = pos + 2, start = i, cs_end = 0;

	for (; i < len && rfc2047_is_token_char((unsigned char)in[i]); i++) {
		if (in[i] == '*' && cs_end == 0)
			cs_end = i;
	}
	if (cs_end == 0)
		cs_end = i;
	if (i >= len || in[i] != '?' || cs_end == start ||
	    cs_end - start > RFC2047_CHARSET_MAX)
		return -1;
	memcpy(w->charset, in + start, cs_end - start);
	w->charset[cs_end - start] = '\0';
	if (i + 2 >= len || in[i + 2] != '?')
		return -1;
	w->encoding = in[i + 1] == 'b' || in[i + 1] == 'B' ? 'B' :
		      in[i + 1] == 'q' || in[i + 1] == 'Q' ? 'Q' : 0;
	if (w->encoding == 0)
		return -1;
	i += 3;
	w->text = in + i;
	while (i < len && rfc2047_is_token_char((unsigned char)in[i]))
		i++;
	if (i + 1 >= len || in[i] != '?' || in[i + 1] != '=')
		return -1;
	w->text_len = (size_t)(in + i - w->text);
	w->end = i + 2;
	return 0;
}

/* "B" text must be base64 with at most two '=' of padding at its end;
   anything else makes the word malformed (and literal). */
static int rfc2047_b_is_valid(const char *text, size_t len)
{
	size_t i, pad = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '=') {
			pad++;
		} else if (pad > 0 ||
			   !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/')) {
			return 0;
		}
	}
	return pad <= 2;
}

static int rfc2047_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "Q" text: '_' is a space, "=XY" a byte; a stray '=' stays literal. */
static void rfc2047_decode_q(const char *text, size_t len, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi, lo;

		if (text[i] == '_') {
			strbuf_appendc(out, ' ');
			continue;
		}
		if (text[i] == '=' && i + 2 < len) {
			hi = rfc2047_hex((unsigned char)text[i + 1]);
			lo = rfc2047_hex((unsigned char)text[i + 2]);
			if (hi >= 0 && lo >= 0) {
				strbuf_appendc(out, (char)(hi << 4 | lo));
				i += 2;
				continue;
			}
		}
		strbuf_appendc(out, text[i]);
	}
}

/* Converts the pending words to UTF-8. */
static void rfc2047_flush(struct rfc2047_ctx *ctx)
{
	if (ctx->charset[0] == '\0')
		return;
	if (charset_to_utf8(ctx->charset, ctx->raw.data, ctx->raw.len,
			    ctx->out, NULL) < 0)
		charset_utf8_sanitize(ctx->raw.data, ctx->raw.len, ctx->out);
	strbuf_reset(&ctx->raw);
	ctx->charset[0] = '\0';
}

/* Appends literal text, unfolded and made valid UTF-8. */
static void rfc2047_literal(struct rfc2047_ctx *ctx, const char *in,
			    size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		size_t brk = 0;

		if (in[i] == '\n')
			brk = 1;
		else if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			brk = 2;
		if (brk == 0 || i + brk >= len ||
		    (in[i + brk] != ' ' && in[i + brk] != '\t'))
			continue;
		charset_utf8_sanitize(in + start, i - start, ctx->out);
		i += brk - 1;
		start = i + 1;
	}
	charset_utf8_sanitize(in + start, len - start, ctx->out);
}

static int rfc2047_is_blank(const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' && in[i] != '\n')
			return 0;
	}
	return 1;
}

/* Whether the word at in[pos] can be decoded; fills *w. */
static int rfc2047_word_usable(const char *in, size_t len, size_t pos,
			       struct rfc2047_word *w)
{
	if (rfc2047_parse(in, len, pos, w) < 0)
		return 0;
	if (w->encoding == 'B' && !rfc2047_b_is_valid(w->text, w->text_len))
		return 0;
	return charset_is_known(w->charset);
}

int rfc2047_decode(const char *in, size_t len, struct strbuf *out)
{
	struct rfc2047_ctx ctx = { out, STRBUF_INIT, "" };
	struct rfc2047_word w;
	size_t lit = 0, i = 0;
	int decoded = 0;

	while (i + 1 < len) {
		const char *p = memmem(in + i, len - i, "=?", 2);
		size_t pos;

		if (p == NULL)
			break;
		pos = (size_t)(p - in);
		if (!rfc2047_word_usable(in, len, pos, &w)) {
			i = pos + 1;
			continue;
		}
		/* whitespace between adjacent encoded words is dropped */
		if (ctx.charset[0] == '\0' || !rfc2047_is_blank(in + lit, pos - lit)) {
			rfc2047_flush(&ctx);
			rfc2047_literal(&ctx, in + lit, pos - lit);
		} else if (strcasecmp(ctx.charset, w.charset) != 0) {
			rfc2047_flush(&ctx);
		}
		if (ctx.charset[0] == '\0')
			strcpy(ctx.charset, w.charset);
		if (w.encoding == 'B')
			transfer_decode_base64(w.text, w.text_len, &ctx.raw);
		else
			rfc2047_decode_q(w.text, w.text_len, &ctx.raw);
		decoded = 1;
		i = lit = w.end;
	}
	rfc2047_flush(&ctx);
	rfc2047_literal(&ctx, in + lit, len - lit);
	strbuf_free(&ctx.raw);
	return decoded;
}
