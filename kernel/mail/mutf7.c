#include "autoconfig.h"
#include <stdint.h>
#include "error.h"
#include "strbuf.h"
#include "charset.h"
#include "mutf7.h"

/* RFC 3501 5.1.3: BASE64 with ',' in place of '/'. */
static const char mutf7_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Decoding state of one '&...-' run. */
struct mutf7_run {
	uint32_t bits;  /* pending bits, the low `nbits` of them */
	unsigned nbits;
	uint16_t high;  /* a high surrogate waiting for its low half, or 0 */
	size_t units;   /* UTF-16 units decoded */
};

static int mutf7_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static void mutf7_truncate(struct strbuf *out, size_t len)
{
	out->len = len;
	if (out->data != NULL)
		out->data[len] = '\0';
}

/* Takes one decoded UTF-16 unit; out may be NULL (validation only). */
static int mutf7_unit(struct mutf7_run *run, uint16_t unit, size_t pos,
		      struct strbuf *out, const char **error_r)
{
	uint32_t cp;

	run->units++;
	if (run->high != 0) {
		if (unit < 0xDC00 || unit > 0xDFFF)
			return error_set(error_r, "mutf7: unpaired high surrogate "
					 "before offset %zu", pos);
		cp = 0x10000 + (((uint32_t)run->high - 0xD800) << 10) +
		     (unit - 0xDC00);
		run->high = 0;
	} else if (unit >= 0xD800 && unit <= 0xDBFF) {
		run->high = unit;
		return 0;
	} else if (unit >= 0xDC00 && unit <= 0xDFFF) {
		return error_set(error_r, "mutf7: unpaired low surrogate "
				 "before offset %zu", pos);
	} else if (unit == 0) {
		return error_set(error_r, "mutf7: encoded NUL before offset %zu",
				 pos);
	} else if (unit >= 0x20 && unit <= 0x7E) {
		return error_set(error_r, "mutf7: printable ASCII 0x%02x encoded "
				 "in BASE64 before offset %zu (must be direct)",
				 unit, pos);
	} else {
		cp = unit;
	}
	if (out != NULL)
		charset_utf8_append(out, cp);
	return 0;
}

/* Decodes the run starting after the '&' at in[start - 1]; on success
   *end_r is the offset just past its closing '-'. */
static int mutf7_decode_run(const char *in, size_t len, size_t start,
			    struct strbuf *out, size_t *end_r,
			    const char **error_r)
{
	struct mutf7_run run = { 0, 0, 0, 0 };
	size_t i;

	for (i = start; i < len && in[i] != '-'; i++) {
		int v = mutf7_value((unsigned char)in[i]);

		if (v < 0)
			return error_set(error_r, "mutf7: invalid BASE64 character "
					 "0x%02x at offset %zu",
					 (unsigned char)in[i], i);
		run.bits = (run.bits << 6) | (uint32_t)v;
		run.nbits += 6;
		if (run.nbits >= 16) {
			run.nbits -= 16;
			if (mutf7_unit(&run, (uint16_t)(run.bits >> run.nbits),
				       i, out, error_r) < 0)
				return -1;
			run.bits &= (1u << run.nbits) - 1;
		}
	}
	if (i == len)
		return error_set(error_r, "mutf7: unterminated '&' at offset %zu",
				 start - 1);
	if (run.units == 0 || run.nbits >= 6)
		return error_set(error_r, "mutf7: superfluous BASE64 characters "
				 "before offset %zu", i);
	if (run.bits != 0)
		return error_set(error_r, "mutf7: non-zero padding bits before "
				 "offset %zu", i);
	if (run.high != 0)
		return error_set(error_r, "mutf7: unpaired high surrogate at end "
				 "of run before offset %zu", i);
	*end_r = i + 1;
	return 0;
}

/* The decoder; out may be NULL to only validate. */
static int mutf7_decode(const char *in, size_t len, struct strbuf *out,
			const char **error_r)
{
	size_t i = 0, run_end = (size_t)-1;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c > 0x7E)
			return error_set(error_r, "mutf7: invalid character 0x%02x "
					 "at offset %zu", c, i);
		if (c != '&') {
			if (out != NULL)
				strbuf_appendc(out, (char)c);
			i++;
		} else if (i + 1 < len && in[i + 1] == '-') {
			if (out != NULL)
				strbuf_appendc(out, '&');
			i += 2;
		} else if (i == run_end) {
			return error_set(error_r, "mutf7: BASE64 run at offset %zu "
					 "follows another run (must be one run)", i);
		} else {
			if (mutf7_decode_run(in, len, i + 1, out, &i, error_r) < 0)
				return -1;
			run_end = i;
		}
	}
	return 0;
}

int mutf7_to_utf8(const char *in, size_t len, struct strbuf *out,
		  const char **error_r)
{
	size_t old_len = out->len;

	if (mutf7_decode(in, len, out, error_r) < 0) {
		mutf7_truncate(out, old_len);
		return -1;
	}
	return 0;
}

int mutf7_is_valid(const char *in, size_t len)
{
	return mutf7_decode(in, len, NULL, NULL) == 0 ? 1 : 0;
}

/* ---- encoding ---- */

struct mutf7_encoder {
	struct strbuf *out;
	uint32_t bits;
	unsigned nbits;
	int in_run;
};

static void mutf7_put_unit(struct mutf7_encoder *enc, uint16_t unit)
{
	enc->bits = (enc->bits << 16) | unit;
	enc->nbits += 16;
	while (enc->nbits >= 6) {
		enc->nbits -= 6;
		strbuf_appendc(enc->out,
			       mutf7_alphabet[(enc->bits >> enc->nbits) & 0x3F]);
	}
	enc->bits &= (1u << enc->nbits) - 1;
}

static void mutf7_end_run(struct mutf7_encoder *enc)
{
	if (!enc->in_run)
		return;
	if (enc->nbits > 0)
		strbuf_appendc(enc->out, mutf7_alphabet[(enc->bits <<
							  (6 - enc->nbits)) & 0x3F]);
	strbuf_appendc(enc->out, '-');
	enc->bits = 0;
	enc->nbits = 0;
	enc->in_run = 0;
}

static void mutf7_put_char(struct mutf7_encoder *enc, uint32_t cp)
{
	if (cp >= 0x20 && cp <= 0x7E) {
		mutf7_end_run(enc);
		if (cp == '&')
			strbuf_append(enc->out, "&-", 2);
		else
			strbuf_appendc(enc->out, (char)cp);
		return;
	}
	if (!enc->in_run) {
		strbuf_appendc(enc->out, '&');
		enc->in_run = 1;
	}
	if (cp >= 0x10000) {
		cp -= 0x10000;
		mutf7_put_unit(enc, (uint16_t)(0xD800 + (cp >> 10)));
		mutf7_put_unit(enc, (uint16_t)(0xDC00 + (cp & 0x3FF)));
	} else {
		mutf7_put_unit(enc, (uint16_t)cp);
	}
}

int utf8_to_mutf7(const char *in, size_t len, struct strbuf *out,
		  const char **error_r)
{
	struct mutf7_encoder enc = { out, 0, 0, 0 };
	size_t old_len = out->len, i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = charset_utf8_decode(in + i, len - i, &cp);

		if (cp == CHARSET_UTF8_BAD || cp == CHARSET_UTF8_SHORT || cp == 0) {
			mutf7_truncate(out, old_len);
			if (cp == 0)
				return error_set(error_r, "mutf7: NUL at offset %zu", i);
			return error_set(error_r, "mutf7: invalid UTF-8 at offset %zu",
					 i);
		}
		mutf7_put_char(&enc, cp);
		i += n;
	}
	mutf7_end_run(&enc);
	return 0;
}
