#include "autoconfig.h"
/* libFuzzer target for the text modules: feeds the input to every decoder
 * in kernel/mail/{mutf7,transfer-decode,charset,rfc2047,text-match}.c and
 * checks their invariants, not only their memory safety:
 *  - mutf7: mutf7_is_valid() agrees with mutf7_to_utf8(); whatever decodes
 *    re-encodes to the same bytes (one canonical form); whatever encodes
 *    decodes back;
 *  - charset and rfc2047 always produce valid UTF-8;
 *  - the matcher (one call and streamed in input-chosen chunks) agrees with
 *    folding both sides and calling memmem(); folding is idempotent.
 * Build with fuzz/build-text.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"
#include "mail/charset.h"
#include "mail/mutf7.h"
#include "mail/rfc2047.h"
#include "mail/text-match.h"
#include "mail/transfer-decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static int same(const struct strbuf *sb, const char *p, size_t len)
{
	return sb->len == len && (len == 0 || memcmp(sb->data, p, len) == 0);
}

static void fuzz_mutf7(const char *in, size_t len)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	int ret = mutf7_to_utf8(in, len, &a, NULL);

	FUZZ_CHECK((ret == 0) == (mutf7_is_valid(in, len) == 1));
	if (ret == 0) {
		FUZZ_CHECK(charset_utf8_is_valid(a.data, a.len));
		FUZZ_CHECK(utf8_to_mutf7(a.data, a.len, &b, NULL) == 0);
		FUZZ_CHECK(same(&b, in, len));
	} else {
		FUZZ_CHECK(a.len == 0);
	}
	strbuf_free(&a);
	strbuf_free(&b);

	if (utf8_to_mutf7(in, len, &a, NULL) == 0) {
		FUZZ_CHECK(charset_utf8_is_valid(in, len));
		FUZZ_CHECK(mutf7_is_valid(a.data, a.len));
		FUZZ_CHECK(mutf7_to_utf8(a.data, a.len, &b, NULL) == 0);
		FUZZ_CHECK(same(&b, in, len));
	} else {
		FUZZ_CHECK(!charset_utf8_is_valid(in, len) ||
			   memchr(in, '\0', len) != NULL);
	}
	strbuf_free(&a);
	strbuf_free(&b);
}

static void fuzz_transfer(const char *in, size_t len)
{
	static const char *const names[] = {
		"base64", "quoted-printable", "7bit", "x-unknown",
	};
	struct strbuf out = STRBUF_INIT;
	size_t i;

	transfer_decode_base64(in, len, &out);
	FUZZ_CHECK(out.len <= len / 4 * 3 + 3);
	strbuf_reset(&out);
	transfer_decode_qp(in, len, &out);
	FUZZ_CHECK(out.len <= len);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		strbuf_reset(&out);
		if (transfer_decode(names[i], in, len, &out, NULL) < 0)
			FUZZ_CHECK(out.len == 0);
	}
	strbuf_free(&out);
}

static void fuzz_charset(const char *in, size_t len)
{
	static const char *const names[] = {
		"utf-8", "us-ascii", "iso-8859-1", "windows-1252", "koi8-r",
		"iso-2022-jp", "utf-16", "utf-7", "gb18030", "shift_jis", "big5",
		"euc-kr", "iso-2022-kr", "x-unknown",
	};
	struct strbuf out = STRBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		strbuf_reset(&out);
		if (charset_to_utf8(names[i], in, len, &out, NULL) == 0)
			FUZZ_CHECK(charset_utf8_is_valid(out.data, out.len));
		else
			FUZZ_CHECK(out.len == 0);
	}
	/* sanitizing is the identity on valid UTF-8, and says so */
	strbuf_reset(&out);
	if (charset_utf8_sanitize(in, len, &out) == 1)
		FUZZ_CHECK(same(&out, in, len));
	FUZZ_CHECK(charset_utf8_is_valid(out.data, out.len));
	strbuf_free(&out);
}

static void fuzz_rfc2047(const char *in, size_t len)
{
	struct strbuf out = STRBUF_INIT;

	rfc2047_decode(in, len, &out);
	FUZZ_CHECK(charset_utf8_is_valid(out.data, out.len));
	strbuf_free(&out);
}

static int reference_find(const char *needle, size_t nlen, const char *hay,
			  size_t hlen)
{
	struct strbuf fn = STRBUF_INIT, fh = STRBUF_INIT, again = STRBUF_INIT;
	int found;

	text_match_fold(needle, nlen, &fn);
	text_match_fold(hay, hlen, &fh);
	FUZZ_CHECK(charset_utf8_is_valid(fh.data, fh.len));
	text_match_fold(fh.data, fh.len, &again);
	FUZZ_CHECK(same(&again, fh.data, fh.len)); /* idempotent */
	found = fn.len == 0 ||
		(fh.len >= fn.len && memmem(fh.data, fh.len, fn.data, fn.len) != NULL);
	strbuf_free(&fn);
	strbuf_free(&fh);
	strbuf_free(&again);
	return found;
}

/* Input: [flags][needle length][needle][haystack].  Flag bit 0 repeats the
   haystack past the matcher's internal 4 KiB step (with bits 1 and 2 also
   set, past its 64 KiB step); the flags also choose the chunk size of the
   streamed search. */
static void fuzz_match(const char *in, size_t len)
{
	struct strbuf hay = STRBUF_INIT;
	struct text_matcher *m;
	struct text_matcher_stream *s;
	size_t nlen, pos, chunk;
	unsigned flags;
	int expected;

	if (len < 2)
		return;
	flags = (unsigned char)in[0];
	nlen = (unsigned char)in[1] % 32;
	in += 2;
	len -= 2;
	if (nlen > len)
		nlen = len;
	strbuf_append(&hay, in + nlen, len - nlen);
	if ((flags & 1) && hay.len > 0) {
		size_t target = (flags & 7) == 7 ? 70000 : 5000;

		while (hay.len < target) {
			/* reserve first: appending a buffer to itself would read
			   it after realloc() moved it */
			size_t n = hay.len;
			char *d = strbuf_reserve(&hay, n);

			memcpy(d, hay.data, n);
			strbuf_commit(&hay, n);
		}
		strbuf_append(&hay, in, nlen); /* may complete a match */
	}
	expected = reference_find(in, nlen, hay.data, hay.len);
	m = text_matcher_create(in, nlen);
	FUZZ_CHECK(text_matcher_find(m, hay.data, hay.len) == expected);

	s = text_matcher_stream_create(m);
	chunk = 1 + (flags >> 1) * ((flags & 1) ? 300 : 1);
	for (pos = 0; pos < hay.len; pos += chunk) {
		/* from a copy, clobbered after: the stream must not keep it */
		size_t n = hay.len - pos < chunk ? hay.len - pos : chunk;
		char *copy = malloc(n);

		memcpy(copy, hay.data + pos, n);
		text_matcher_feed(s, copy, n);
		memset(copy, 0xA5, n);
		free(copy);
	}
	FUZZ_CHECK(text_matcher_finish(s) == expected);
	text_matcher_stream_destroy(&s);
	text_matcher_destroy(&m);
	strbuf_free(&hay);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;

	fuzz_mutf7(in, size);
	fuzz_transfer(in, size);
	fuzz_charset(in, size);
	fuzz_rfc2047(in, size);
	fuzz_match(in, size);
	return 0;
}
