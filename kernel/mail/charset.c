#include "autoconfig.h"
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "error.h"
#include "strbuf.h"
#include "xalloc.h"
#include "charset.h"

/* Longest charset name we pass to iconv; longer names are unknown. */
#define CHARSET_NAME_MAX 64
/* iconv descriptors kept open per thread (round-robin replacement). */
#define CHARSET_CACHE_SIZE 8

enum charset_kind {
	CHARSET_KIND_INVALID,
	CHARSET_KIND_UTF8,   /* utf-8 and us-ascii */
	CHARSET_KIND_LATIN1, /* iso-8859-1: every byte is its code point */
	CHARSET_KIND_ICONV,
};

struct charset_cache_entry {
	char name[CHARSET_NAME_MAX + 1]; /* normalized; "" = unused slot */
	iconv_t cd;                      /* (iconv_t)-1: iconv does not know it */
};

struct charset_cache {
	struct charset_cache_entry entries[CHARSET_CACHE_SIZE];
	unsigned next;
};

/* Names mail uses that glibc spells differently. */
static const struct {
	const char *mail_name;
	const char *iconv_name;
} charset_aliases[] = {
	{ "ks_c_5601-1987", "cp949" },
	{ "iso-8859-8-i", "iso-8859-8" },
	{ "iso-8859-6-i", "iso-8859-6" },
	{ "x-sjis", "shift_jis" },
	{ "x-euc-jp", "euc-jp" },
};

static pthread_key_t charset_cache_key;
static pthread_once_t charset_cache_once = PTHREAD_ONCE_INIT;

/* ---- UTF-8 primitives ---- */

size_t charset_utf8_decode(const char *in, size_t len, uint32_t *cp_r)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need, i;
	uint32_t cp;

	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	}
	if (p[0] < 0xC2 || p[0] > 0xF4) {
		*cp_r = CHARSET_UTF8_BAD;
		return 1;
	}
	if (p[0] < 0xE0) {
		need = 1;
		cp = p[0] & 0x1F;
	} else if (p[0] < 0xF0) {
		need = 2;
		cp = p[0] & 0x0F;
		if (p[0] == 0xE0)
			lo = 0xA0; /* overlong */
		else if (p[0] == 0xED)
			hi = 0x9F; /* surrogates */
	} else {
		need = 3;
		cp = p[0] & 0x07;
		if (p[0] == 0xF0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	}
	for (i = 1; i <= need; i++) {
		if (i >= len) {
			*cp_r = CHARSET_UTF8_SHORT;
			return len;
		}
		if (p[i] < lo || p[i] > hi) {
			*cp_r = CHARSET_UTF8_BAD;
			return i;
		}
		lo = 0x80;
		hi = 0xBF;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	*cp_r = cp;
	return need + 1;
}

void charset_utf8_append(struct strbuf *out, uint32_t cp)
{
	unsigned char *d;

	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	d = (unsigned char *)strbuf_reserve(out, 4);
	if (cp < 0x80) {
		d[0] = (unsigned char)cp;
		strbuf_commit(out, 1);
	} else if (cp < 0x800) {
		d[0] = (unsigned char)(0xC0 | (cp >> 6));
		d[1] = (unsigned char)(0x80 | (cp & 0x3F));
		strbuf_commit(out, 2);
	} else if (cp < 0x10000) {
		d[0] = (unsigned char)(0xE0 | (cp >> 12));
		d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		d[2] = (unsigned char)(0x80 | (cp & 0x3F));
		strbuf_commit(out, 3);
	} else {
		d[0] = (unsigned char)(0xF0 | (cp >> 18));
		d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		d[3] = (unsigned char)(0x80 | (cp & 0x3F));
		strbuf_commit(out, 4);
	}
}

/* Length of the valid UTF-8 prefix of in[0..len), 8 ASCII bytes at a time
   where it can. */
static size_t utf8_valid_prefix(const char *in, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		uint64_t w;

		if (len - i >= 8) {
			memcpy(&w, in + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		n = charset_utf8_decode(in + i, len - i, &cp);
		if (cp == CHARSET_UTF8_BAD || cp == CHARSET_UTF8_SHORT)
			break;
		i += n;
	}
	return i;
}

int charset_utf8_sanitize(const char *in, size_t len, struct strbuf *out)
{
	int valid = 1;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_valid_prefix(in + i, len - i);
		strbuf_append(out, in + i, n);
		i += n;
		if (i == len)
			break;
		i += charset_utf8_decode(in + i, len - i, &cp);
		strbuf_append(out, CHARSET_REPLACEMENT_UTF8, 3);
		valid = 0;
	}
	return valid;
}

int charset_utf8_is_valid(const char *in, size_t len)
{
	return utf8_valid_prefix(in, len) == len ? 1 : 0;
}

/* ---- charset names ---- */

/* Lower-cases `name` into buf (CHARSET_NAME_MAX + 1 bytes) and classifies
   it.  Only the characters charset names use are accepted: anything else
   (notably '/', which would make glibc parse "//TRANSLIT"-style suffixes)
   makes the name invalid. */
static enum charset_kind charset_normalize(const char *name, char *buf)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > CHARSET_NAME_MAX)
		return CHARSET_KIND_INVALID;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr("-_.:+()", c) != NULL))
			return CHARSET_KIND_INVALID;
		buf[i] = c;
	}
	buf[len] = '\0';
	if (strcmp(buf, "utf-8") == 0 || strcmp(buf, "utf8") == 0 ||
	    strcmp(buf, "us-ascii") == 0 || strcmp(buf, "ascii") == 0)
		return CHARSET_KIND_UTF8;
	if (strcmp(buf, "iso-8859-1") == 0 || strcmp(buf, "iso8859-1") == 0 ||
	    strcmp(buf, "iso_8859-1") == 0 || strcmp(buf, "latin1") == 0)
		return CHARSET_KIND_LATIN1;
	for (i = 0; i < sizeof(charset_aliases) / sizeof(charset_aliases[0]); i++) {
		if (strcmp(buf, charset_aliases[i].mail_name) == 0) {
			strcpy(buf, charset_aliases[i].iconv_name);
			break;
		}
	}
	return CHARSET_KIND_ICONV;
}

/* ---- the per-thread iconv cache ---- */

static void charset_cache_free(void *arg)
{
	struct charset_cache *cache = arg;
	unsigned i;

	if (cache == NULL)
		return;
	for (i = 0; i < CHARSET_CACHE_SIZE; i++) {
		if (cache->entries[i].name[0] != '\0' &&
		    cache->entries[i].cd != (iconv_t)-1)
			iconv_close(cache->entries[i].cd);
	}
	free(cache);
}

static void charset_cache_key_init(void)
{
	if (pthread_key_create(&charset_cache_key, charset_cache_free) != 0)
		abort();
}

void charset_thread_deinit(void)
{
	pthread_once(&charset_cache_once, charset_cache_key_init);
	charset_cache_free(pthread_getspecific(charset_cache_key));
	pthread_setspecific(charset_cache_key, NULL);
}

/* Returns this thread's descriptor for converting from the normalized name
   to UTF-8, reset to its initial state, or (iconv_t)-1 when iconv does not
   know the charset (remembered too, so unknown names stay cheap). */
static iconv_t charset_cache_get(const char *norm)
{
	struct charset_cache *cache;
	struct charset_cache_entry *e;
	unsigned i;

	pthread_once(&charset_cache_once, charset_cache_key_init);
	cache = pthread_getspecific(charset_cache_key);
	if (cache == NULL) {
		cache = xcalloc(1, sizeof(*cache));
		if (pthread_setspecific(charset_cache_key, cache) != 0)
			abort();
	}
	for (i = 0; i < CHARSET_CACHE_SIZE; i++) {
		e = &cache->entries[i];
		if (strcmp(e->name, norm) == 0) {
			if (e->cd != (iconv_t)-1)
				iconv(e->cd, NULL, NULL, NULL, NULL);
			return e->cd;
		}
	}
	e = &cache->entries[cache->next];
	cache->next = (cache->next + 1) % CHARSET_CACHE_SIZE;
	if (e->name[0] != '\0' && e->cd != (iconv_t)-1)
		iconv_close(e->cd);
	strcpy(e->name, norm);
	e->cd = iconv_open("UTF-8", norm);
	return e->cd;
}

int charset_is_known(const char *name)
{
	char norm[CHARSET_NAME_MAX + 1];

	if (name == NULL)
		return 0;
	switch (charset_normalize(name, norm)) {
	case CHARSET_KIND_INVALID:
		return 0;
	case CHARSET_KIND_UTF8:
	case CHARSET_KIND_LATIN1:
		return 1;
	case CHARSET_KIND_ICONV:
		break;
	}
	return charset_cache_get(norm) != (iconv_t)-1 ? 1 : 0;
}

/* ---- conversion ---- */

static void charset_latin1_to_utf8(const char *in, size_t len,
				   struct strbuf *out)
{
	unsigned char *d = (unsigned char *)strbuf_reserve(out, len * 2);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x80) {
			d[n++] = c;
		} else {
			d[n++] = (unsigned char)(0xC0 | (c >> 6));
			d[n++] = (unsigned char)(0x80 | (c & 0x3F));
		}
	}
	strbuf_commit(out, n);
}

/* Runs iconv over the input.  An ill-formed or unconvertible byte becomes
   U+FFFD and is skipped, so every round makes progress; an incomplete
   sequence at the end becomes one U+FFFD. */
static void charset_iconv(iconv_t cd, const char *in, size_t len,
			  struct strbuf *out)
{
	char *inp = (char *)in;
	size_t inleft = len, room = 64;

	while (inleft > 0) {
		size_t want = (inleft < 65536 ? inleft * 3 : 65536 * 3) + room;
		char *outp = strbuf_reserve(out, want), *start = outp;
		size_t outleft = want, before = inleft, ret;
		int err;

		ret = iconv(cd, &inp, &inleft, &outp, &outleft);
		err = errno;
		strbuf_commit(out, (size_t)(outp - start));
		if (ret != (size_t)-1)
			break;
		if (err == E2BIG) {
			/* a single character larger than the room left */
			if (inleft == before && outp == start)
				room *= 2;
			if (room < (1u << 20))
				continue;
		} else if (err == EINVAL) {
			strbuf_append(out, CHARSET_REPLACEMENT_UTF8, 3);
			break;
		}
		/* EILSEQ, or no progress at all: skip one byte */
		strbuf_append(out, CHARSET_REPLACEMENT_UTF8, 3);
		inp++;
		inleft--;
		room = 64;
	}
	/* return a stateful decoder to its initial state, emitting anything it
	   still holds */
	{
		char *outp = strbuf_reserve(out, 64), *start = outp;
		size_t outleft = 64;

		iconv(cd, NULL, NULL, &outp, &outleft);
		strbuf_commit(out, (size_t)(outp - start));
	}
}

int charset_to_utf8(const char *charset, const char *in, size_t len,
		    struct strbuf *out, const char **error_r)
{
	char norm[CHARSET_NAME_MAX + 1];
	iconv_t cd;

	if (charset == NULL)
		charset = "us-ascii"; /* RFC 2045 5.2's default */
	switch (charset_normalize(charset, norm)) {
	case CHARSET_KIND_INVALID:
		return error_set(error_r, "charset: invalid charset name '%.80s'",
				 charset);
	case CHARSET_KIND_UTF8:
		charset_utf8_sanitize(in, len, out);
		return 0;
	case CHARSET_KIND_LATIN1:
		charset_latin1_to_utf8(in, len, out);
		return 0;
	case CHARSET_KIND_ICONV:
		break;
	}
	cd = charset_cache_get(norm);
	if (cd == (iconv_t)-1)
		return error_set(error_r, "charset: unknown charset '%s'", norm);
	charset_iconv(cd, in, len, out);
	return 0;
}
