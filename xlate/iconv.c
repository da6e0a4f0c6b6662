/* The xlate plugin `iconv`: translate tables for named EBCDIC code pages
 * ("IBM037", "IBM1047", "IBM500", "CP037", ... whatever the C library's
 * iconv knows), built byte by byte between the code page and the peer code
 * page (ISO-8859-1 unless configured).
 *
 * A byte with no single-byte counterpart (IBM1140's euro sign in ISO
 * 8859-1, say) is paired, in ascending order, with a peer byte nothing maps
 * to (the currency sign), as IBM's round-trip tables do, so a code page
 * that differs from the peer in a few places still gives a reversible
 * table; bytes left over map to SUB.  A name iconv does not know is not
 * this plugin's table (0); a code page that is not single-byte against the
 * peer (more than an eighth of the bytes unmapped: UTF-8, a DBCS page) is a
 * broken table (-1).
 *
 * Configuration (`plugins: iconv:`):
 *   codepage_peer: the ASCII side (default ISO-8859-1) */
#include "autoconfig.h"
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <vimap/xlate.h>
#include "error.h"
#include "xalloc.h"

#define ICONV_NAME_MAX 64
#define ICONV_MAX_UNMAPPED 32
#define ICONV_SUB_ASCII 0x1A
#define ICONV_SUB_EBCDIC 0x3F

struct iconv_state {
	char *peer;
};

static const char *const iconv_keys[] = { "codepage_peer", NULL };

/* 1 when `name` looks like a code page name: letters, digits, '-', '_',
   '.', ':' only, so no iconv suffix ("//TRANSLIT") or path sneaks in. */
static int iconv_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > ICONV_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && strchr("-_.:", c) == NULL)
			return 0;
	}
	return 1;
}

static int iconv_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
		      void **state_r, const char **error_r)
{
	struct iconv_state *st;
	const char *peer;
	iconv_t cd;

	if (host->config_check_keys(ctx, iconv_keys, error_r) < 0 ||
	    host->config_string(ctx, "codepage_peer", "ISO-8859-1", &peer, error_r) < 0)
		return -1;
	if (!iconv_name_ok(peer))
		return error_set(error_r, "codepage_peer: '%s' is no code page name", peer);
	/* The peer must be known in itself, or every look-up would say 0. */
	if ((cd = iconv_open(peer, peer)) == (iconv_t)-1)
		return error_set(error_r, "codepage_peer: iconv_open(%s) failed: %s", peer,
				 strerror(errno));
	iconv_close(cd);
	st = xcalloc(1, sizeof(*st));
	st->peer = xstrdup(peer);
	*state_r = st;
	return 0;
}

static void iconv_deinit(void *state)
{
	struct iconv_state *st = state;

	free(st->peer);
	free(st);
}

/* Converts each byte through `cd` into table[]; a byte that does not give
   exactly one byte is marked in failed[].  Returns how many failed. */
static unsigned iconv_direction(iconv_t cd, unsigned char table[256], unsigned char failed[256])
{
	unsigned b, nfailed = 0;

	for (b = 0; b < 256; b++) {
		char in = (char)b, out[8];
		char *inp = &in, *outp = out;
		size_t inleft = 1, outleft = sizeof(out);

		(void)iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &inp, &inleft, &outp, &outleft) == (size_t)-1 ||
		    inleft != 0 || outleft != sizeof(out) - 1) {
			failed[b] = 1;
			table[b] = 0;
			nfailed++;
			continue;
		}
		failed[b] = 0;
		table[b] = (unsigned char)out[0];
	}
	return nfailed;
}

/* Gives each failed byte, in ascending order, a target byte no other byte
   maps to; when none is left, `sub`. */
static void iconv_pair_unmapped(unsigned char table[256], const unsigned char failed[256],
				unsigned char sub)
{
	unsigned char used[256];
	unsigned b, next = 0;

	memset(used, 0, sizeof(used));
	for (b = 0; b < 256; b++) {
		if (!failed[b])
			used[table[b]] = 1;
	}
	for (b = 0; b < 256; b++) {
		if (!failed[b])
			continue;
		while (next < 256 && used[next])
			next++;
		if (next < 256) {
			table[b] = (unsigned char)next;
			used[next] = 1;
		} else {
			table[b] = sub;
		}
	}
}

/* Builds one direction from `from` to `to`: 1 done, 0 iconv knows no such
   conversion, -1 not a single-byte pair. */
static int iconv_build(const char *to, const char *from, unsigned char table[256],
		       unsigned char sub, const char **error_r)
{
	unsigned char failed[256];
	unsigned nfailed;
	iconv_t cd = iconv_open(to, from);

	if (cd == (iconv_t)-1)
		return 0;
	nfailed = iconv_direction(cd, table, failed);
	iconv_close(cd);
	if (nfailed > ICONV_MAX_UNMAPPED)
		return error_set(error_r, "%u of 256 bytes have no single-byte counterpart "
				 "from %s to %s: not a single-byte code page pair", nfailed,
				 from, to);
	iconv_pair_unmapped(table, failed, sub);
	return 1;
}

static int iconv_load(void *state, const char *name, unsigned char to_ascii[256],
		      unsigned char to_ebcdic[256], const char **error_r)
{
	struct iconv_state *st = state;
	int ret;

	if (!iconv_name_ok(name))
		return 0;
	ret = iconv_build(st->peer, name, to_ascii, ICONV_SUB_ASCII, error_r);
	if (ret <= 0)
		return ret;
	ret = iconv_build(name, st->peer, to_ebcdic, ICONV_SUB_EBCDIC, error_r);
	if (ret == 0)
		return error_set(error_r, "iconv converts %s to %s but not back", name,
				 st->peer);
	return ret;
}

static const struct vimap_xlate_ops iconv_ops = {
	.size = sizeof(struct vimap_xlate_ops),
	.init = iconv_init,
	.deinit = iconv_deinit,
	.load = iconv_load,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_XLATE, "iconv", PACKAGE_VERSION, &iconv_ops);
