#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "strbuf.h"
#include "xalloc.h"
#include "charset.h"
#include "text-match.h"

/* Longest pure-ASCII stretch searched in one step: it is scanned twice (for
   its length, then for the needle), so it should stay in the L2 cache. */
#define TEXT_MATCH_ASCII_STEP 65536
/* Fewest raw bytes folded per step when a stretch is not pure ASCII; a step
   also rescans the needle-length tail, so steps are at least twice the
   needle to keep that rescanning below the cost of the step itself. */
#define TEXT_MATCH_SLOW_STEP 4096

struct text_matcher {
	char *needle;      /* folded needle, NUL-terminated */
	size_t len;
	int ascii;         /* the folded needle is pure ASCII */
	size_t slow_step;  /* raw bytes folded per step */
};

/* The folded haystack is never held whole: the stream keeps its last
   len - 1 bytes (the tail), which is all a match ending later can use. */
struct text_matcher_stream {
	const struct text_matcher *m;
	/* buf[0..tail_len) is the folded tail; after it, scratch space */
	struct strbuf buf;
	size_t tail_len;
	/* a pure-ASCII stretch whose folded form follows the tail but was not
	   copied yet (searched in place); valid only during one feed */
	const char *pend;
	size_t pend_len;
	/* the start of a UTF-8 character cut by the end of the last chunk */
	char part[4];
	size_t part_len;
	int found;
};

/* One run of the case folding table: code points start..end (every
   `stride`-th one from start) fold to cp + delta. */
struct fold_run {
	uint32_t start;
	uint32_t end;
	int32_t delta;
	uint32_t stride;
};

/* Simple case folding (CaseFolding.txt statuses C and S), generated from
   Unicode 14.0.0 with Python: a code point maps to c.casefold() when that is
   one character, else to c.lower() when that is one character (the S
   entries), else to itself.  Below 0x600 a direct table of deltas; above,
   runs sorted by start for binary search. */
static const int16_t fold_direct[0x600] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 32, 32, 32, 32, 32, 32, 32,
	32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
	32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 775, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
	32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 0,
	32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0,
	0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
	0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, -121, 1, 0, 1, 0, 1, 0, -268,
	0, 210, 1, 0, 1, 0, 206, 1, 0, 205, 205, 1,
	0, 0, 79, 202, 203, 1, 0, 205, 207, 0, 211, 209,
	1, 0, 0, 0, 211, 213, 0, 214, 1, 0, 1, 0,
	1, 0, 218, 1, 0, 218, 0, 0, 1, 0, 218, 1,
	0, 217, 217, 1, 0, 1, 0, 219, 1, 0, 0, 0,
	1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 2,
	1, 0, 2, 1, 0, 1, 0, 1, 0, 1, 0, 1,
	0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 0, 2, 1, 0, 1, 0, -97, -56,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, -130, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	0, 0, 0, 0, 0, 0, 10795, 1, 0, -163, 10792, 0,
	0, 1, 0, -195, 69, 71, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 116, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0,
	0, 0, 0, 0, 0, 0, 0, 116, 0, 0, 0, 0,
	0, 0, 38, 0, 37, 37, 37, 0, 64, 0, 63, 63,
	0, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
	32, 32, 32, 32, 32, 32, 0, 32, 32, 32, 32, 32,
	32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 8, -30, -25, 0, 0, 0, -15, -22, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	-54, -48, 0, 0, -60, -64, 0, 1, 0, -7, 1, 0,
	0, -130, -130, -130, 80, 80, 80, 80, 80, 80, 80, 80,
	80, 80, 80, 80, 80, 80, 80, 80, 32, 32, 32, 32,
	32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
	32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
	32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 15, 1, 0, 1, 0, 1, 0, 1,
	0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
	1, 0, 1, 0, 1, 0, 1, 0, 0, 48, 48, 48,
	48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
	48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
	48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
static const struct fold_run fold_runs[] = {
	{ 0x10a0, 0x10c5, 7264, 1 },
	{ 0x10c7, 0x10c7, 7264, 1 },
	{ 0x10cd, 0x10cd, 7264, 1 },
	{ 0x13f8, 0x13fd, -8, 1 },
	{ 0x1c80, 0x1c80, -6222, 1 },
	{ 0x1c81, 0x1c81, -6221, 1 },
	{ 0x1c82, 0x1c82, -6212, 1 },
	{ 0x1c83, 0x1c84, -6210, 1 },
	{ 0x1c85, 0x1c85, -6211, 1 },
	{ 0x1c86, 0x1c86, -6204, 1 },
	{ 0x1c87, 0x1c87, -6180, 1 },
	{ 0x1c88, 0x1c88, 35267, 1 },
	{ 0x1c90, 0x1cba, -3008, 1 },
	{ 0x1cbd, 0x1cbf, -3008, 1 },
	{ 0x1e00, 0x1e94, 1, 2 },
	{ 0x1e9b, 0x1e9b, -58, 1 },
	{ 0x1e9e, 0x1e9e, -7615, 1 },
	{ 0x1ea0, 0x1efe, 1, 2 },
	{ 0x1f08, 0x1f0f, -8, 1 },
	{ 0x1f18, 0x1f1d, -8, 1 },
	{ 0x1f28, 0x1f2f, -8, 1 },
	{ 0x1f38, 0x1f3f, -8, 1 },
	{ 0x1f48, 0x1f4d, -8, 1 },
	{ 0x1f59, 0x1f5f, -8, 2 },
	{ 0x1f68, 0x1f6f, -8, 1 },
	{ 0x1f88, 0x1f8f, -8, 1 },
	{ 0x1f98, 0x1f9f, -8, 1 },
	{ 0x1fa8, 0x1faf, -8, 1 },
	{ 0x1fb8, 0x1fb9, -8, 1 },
	{ 0x1fba, 0x1fbb, -74, 1 },
	{ 0x1fbc, 0x1fbc, -9, 1 },
	{ 0x1fbe, 0x1fbe, -7173, 1 },
	{ 0x1fc8, 0x1fcb, -86, 1 },
	{ 0x1fcc, 0x1fcc, -9, 1 },
	{ 0x1fd8, 0x1fd9, -8, 1 },
	{ 0x1fda, 0x1fdb, -100, 1 },
	{ 0x1fe8, 0x1fe9, -8, 1 },
	{ 0x1fea, 0x1feb, -112, 1 },
	{ 0x1fec, 0x1fec, -7, 1 },
	{ 0x1ff8, 0x1ff9, -128, 1 },
	{ 0x1ffa, 0x1ffb, -126, 1 },
	{ 0x1ffc, 0x1ffc, -9, 1 },
	{ 0x2126, 0x2126, -7517, 1 },
	{ 0x212a, 0x212a, -8383, 1 },
	{ 0x212b, 0x212b, -8262, 1 },
	{ 0x2132, 0x2132, 28, 1 },
	{ 0x2160, 0x216f, 16, 1 },
	{ 0x2183, 0x2183, 1, 1 },
	{ 0x24b6, 0x24cf, 26, 1 },
	{ 0x2c00, 0x2c2f, 48, 1 },
	{ 0x2c60, 0x2c60, 1, 1 },
	{ 0x2c62, 0x2c62, -10743, 1 },
	{ 0x2c63, 0x2c63, -3814, 1 },
	{ 0x2c64, 0x2c64, -10727, 1 },
	{ 0x2c67, 0x2c6b, 1, 2 },
	{ 0x2c6d, 0x2c6d, -10780, 1 },
	{ 0x2c6e, 0x2c6e, -10749, 1 },
	{ 0x2c6f, 0x2c6f, -10783, 1 },
	{ 0x2c70, 0x2c70, -10782, 1 },
	{ 0x2c72, 0x2c72, 1, 1 },
	{ 0x2c75, 0x2c75, 1, 1 },
	{ 0x2c7e, 0x2c7f, -10815, 1 },
	{ 0x2c80, 0x2ce2, 1, 2 },
	{ 0x2ceb, 0x2ced, 1, 2 },
	{ 0x2cf2, 0x2cf2, 1, 1 },
	{ 0xa640, 0xa66c, 1, 2 },
	{ 0xa680, 0xa69a, 1, 2 },
	{ 0xa722, 0xa72e, 1, 2 },
	{ 0xa732, 0xa76e, 1, 2 },
	{ 0xa779, 0xa77b, 1, 2 },
	{ 0xa77d, 0xa77d, -35332, 1 },
	{ 0xa77e, 0xa786, 1, 2 },
	{ 0xa78b, 0xa78b, 1, 1 },
	{ 0xa78d, 0xa78d, -42280, 1 },
	{ 0xa790, 0xa792, 1, 2 },
	{ 0xa796, 0xa7a8, 1, 2 },
	{ 0xa7aa, 0xa7aa, -42308, 1 },
	{ 0xa7ab, 0xa7ab, -42319, 1 },
	{ 0xa7ac, 0xa7ac, -42315, 1 },
	{ 0xa7ad, 0xa7ad, -42305, 1 },
	{ 0xa7ae, 0xa7ae, -42308, 1 },
	{ 0xa7b0, 0xa7b0, -42258, 1 },
	{ 0xa7b1, 0xa7b1, -42282, 1 },
	{ 0xa7b2, 0xa7b2, -42261, 1 },
	{ 0xa7b3, 0xa7b3, 928, 1 },
	{ 0xa7b4, 0xa7c2, 1, 2 },
	{ 0xa7c4, 0xa7c4, -48, 1 },
	{ 0xa7c5, 0xa7c5, -42307, 1 },
	{ 0xa7c6, 0xa7c6, -35384, 1 },
	{ 0xa7c7, 0xa7c9, 1, 2 },
	{ 0xa7d0, 0xa7d0, 1, 1 },
	{ 0xa7d6, 0xa7d8, 1, 2 },
	{ 0xa7f5, 0xa7f5, 1, 1 },
	{ 0xab70, 0xabbf, -38864, 1 },
	{ 0xff21, 0xff3a, 32, 1 },
	{ 0x10400, 0x10427, 40, 1 },
	{ 0x104b0, 0x104d3, 40, 1 },
	{ 0x10570, 0x1057a, 39, 1 },
	{ 0x1057c, 0x1058a, 39, 1 },
	{ 0x1058c, 0x10592, 39, 1 },
	{ 0x10594, 0x10595, 39, 1 },
	{ 0x10c80, 0x10cb2, 64, 1 },
	{ 0x118a0, 0x118bf, 32, 1 },
	{ 0x16e40, 0x16e5f, 32, 1 },
	{ 0x1e900, 0x1e921, 34, 1 },
};

/* ---- folding ---- */

static inline unsigned char ascii_lower(unsigned char c)
{
	return (unsigned char)(c + ((unsigned char)(c - 'A') < 26u ? 32 : 0));
}

uint32_t text_match_fold_char(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(fold_runs) / sizeof(fold_runs[0]);

	if (cp < sizeof(fold_direct) / sizeof(fold_direct[0]))
		return (uint32_t)((int32_t)cp + fold_direct[cp]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct fold_run *r = &fold_runs[mid];

		if (cp < r->start) {
			hi = mid;
		} else if (cp > r->end) {
			lo = mid + 1;
		} else {
			if ((cp - r->start) % r->stride != 0)
				return cp;
			return (uint32_t)((int32_t)cp + r->delta);
		}
	}
	return cp;
}

/* Appends the folded form of in[0..len) to out and returns how many input
   bytes it consumed: all of them, except that when !final a character cut
   by the end of the input is left for later.  Folding never grows text more
   than threefold (an ill-formed byte becomes the 3-byte U+FFFD). */
static size_t text_match_fold_part(const char *in, size_t len,
				   struct strbuf *out, int final)
{
	unsigned char *d = (unsigned char *)strbuf_reserve(out, len * 3 + 4);
	size_t i = 0, n = 0;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		uint32_t cp;
		size_t clen;

		if (c < 0x80) {
			d[n++] = ascii_lower(c);
			i++;
			continue;
		}
		clen = charset_utf8_decode(in + i, len - i, &cp);
		if (cp == CHARSET_UTF8_SHORT && !final)
			break;
		if (cp == CHARSET_UTF8_BAD || cp == CHARSET_UTF8_SHORT)
			cp = 0xFFFD;
		else
			cp = text_match_fold_char(cp);
		i += clen;
		if (cp < 0x80) {
			d[n++] = (unsigned char)cp;
		} else if (cp < 0x800) {
			d[n++] = (unsigned char)(0xC0 | (cp >> 6));
			d[n++] = (unsigned char)(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			d[n++] = (unsigned char)(0xE0 | (cp >> 12));
			d[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
			d[n++] = (unsigned char)(0x80 | (cp & 0x3F));
		} else {
			d[n++] = (unsigned char)(0xF0 | (cp >> 18));
			d[n++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
			d[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
			d[n++] = (unsigned char)(0x80 | (cp & 0x3F));
		}
	}
	strbuf_commit(out, n);
	return i;
}

void text_match_fold(const char *in, size_t len, struct strbuf *out)
{
	size_t i = 0;

	/* in pieces, so that the threefold reservation stays small */
	while (len - i > TEXT_MATCH_ASCII_STEP)
		i += text_match_fold_part(in + i, TEXT_MATCH_ASCII_STEP, out, 0);
	text_match_fold_part(in + i, len - i, out, 1);
}

/* ---- pure-ASCII stretches, searched in place ---- */

/* Length of the pure-ASCII prefix of in[0..len). */
static size_t ascii_span(const unsigned char *in, size_t len)
{
	size_t i = 0;

#if defined(__SSE2__)
	for (; i + 16 <= len; i += 16) {
		int mask = _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(in + i)));

		if (mask != 0)
			return i + (size_t)__builtin_ctz((unsigned)mask);
	}
#endif
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, in + i, 8);
		if ((w & 0x8080808080808080ULL) != 0)
			break;
	}
	while (i < len && in[i] < 0x80)
		i++;
	return i;
}

/* Whether hay[0..n) equals the lower-case ASCII needle[0..n) ignoring case;
   adds the bytes compared to *work. */
static int ascii_ci_equal(const unsigned char *hay, const unsigned char *needle,
			  size_t n, size_t *work)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ascii_lower(hay[i]) != needle[i]) {
			*work += i + 1;
			return 0;
		}
	}
	*work += n;
	return 1;
}

/* Searches hay[0..n) for the lower-case ASCII needle[0..m), 1 <= m <= n,
   ignoring ASCII case.  Candidates are the positions whose first and last
   bytes match (16 at a time with SSE2); they are then compared whole.
   Returns 1 (found), 0 (not found), or -1 when the comparisons grew beyond
   a linear budget (a needle such as "aaab" in "aaaa..."), leaving the
   caller to finish with a linear-time algorithm. */
static int ascii_ci_find(const unsigned char *hay, size_t n,
			 const unsigned char *needle, size_t m)
{
	unsigned char first = needle[0], last = needle[m - 1];
	const unsigned char *mid = needle + 1;
	size_t i = 0, mid_len = m >= 2 ? m - 2 : 0;
	size_t work = 0, budget = 4 * n + 4096;

#if defined(__SSE2__)
	/* OR-ing 0x20 folds case exactly when the needle byte is a letter */
	char case_f = (unsigned)(first - 'a') < 26u ? 0x20 : 0;
	char case_l = (unsigned)(last - 'a') < 26u ? 0x20 : 0;
	const __m128i vf = _mm_set1_epi8((char)first);
	const __m128i vl = _mm_set1_epi8((char)last);
	const __m128i cf = _mm_set1_epi8(case_f);
	const __m128i cl = _mm_set1_epi8(case_l);

	for (; i + m - 1 + 16 <= n; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(hay + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(hay + i + m - 1));
		__m128i eq = _mm_and_si128(
			_mm_cmpeq_epi8(_mm_or_si128(a, cf), vf),
			_mm_cmpeq_epi8(_mm_or_si128(b, cl), vl));
		unsigned mask = (unsigned)_mm_movemask_epi8(eq);

		while (mask != 0) {
			size_t at = i + (size_t)__builtin_ctz(mask);

			if (ascii_ci_equal(hay + at + 1, mid, mid_len, &work))
				return 1;
			mask &= mask - 1;
		}
		if (work > budget)
			return -1;
	}
#endif
	for (; i + m <= n; i++) {
		if (ascii_lower(hay[i]) == first &&
		    ascii_lower(hay[i + m - 1]) == last &&
		    ascii_ci_equal(hay + i + 1, mid, mid_len, &work))
			return 1;
		if (work > budget)
			return -1;
	}
	return 0;
}

/* ---- the stream ---- */

static void stream_init(struct text_matcher_stream *s,
			const struct text_matcher *m)
{
	memset(s, 0, sizeof(*s));
	s->m = m;
	s->found = m->len == 0;
}

/* Keeps only the last len - 1 bytes of buf[0..buf.len) as the tail. */
static void stream_keep_tail(struct text_matcher_stream *s)
{
	size_t keep = s->m->len - 1;

	if (s->buf.len > keep) {
		memmove(s->buf.data, s->buf.data + s->buf.len - keep, keep);
		s->buf.len = keep;
	}
	s->tail_len = s->buf.len;
}

/* Copies the pending in-place stretch into the tail. */
static void stream_materialize(struct text_matcher_stream *s)
{
	size_t keep = s->m->len - 1, n = s->pend_len, i;
	const unsigned char *p = (const unsigned char *)s->pend;
	unsigned char *d;

	if (n == 0)
		return;
	if (n >= keep) {
		p += n - keep;
		n = keep;
		s->tail_len = 0;
	}
	s->buf.len = s->tail_len;
	d = (unsigned char *)strbuf_reserve(&s->buf, n);
	for (i = 0; i < n; i++)
		d[i] = ascii_lower(p[i]);
	s->buf.len += n;
	stream_keep_tail(s);
	s->pend = NULL;
	s->pend_len = 0;
}

/* Searches buf[0..buf.len), the tail followed by newly folded text, and
   keeps the new tail. */
static void stream_search_buf(struct text_matcher_stream *s)
{
	const struct text_matcher *m = s->m;

	if (s->buf.len >= m->len &&
	    memmem(s->buf.data, s->buf.len, m->needle, m->len) != NULL)
		s->found = 1;
	stream_keep_tail(s);
}

/* Folds and searches up to len raw bytes; returns how many it consumed
   (see text_match_fold_part() for `final`). */
static size_t stream_slow_step(struct text_matcher_stream *s, const char *in,
			       size_t len, int final)
{
	size_t used;

	stream_materialize(s);
	s->buf.len = s->tail_len;
	used = text_match_fold_part(in, len, &s->buf, final);
	stream_search_buf(s);
	return used;
}

/* Searches the pure-ASCII stretch in[0..len) in place. */
static void stream_ascii_step(struct text_matcher_stream *s, const char *in,
			      size_t len)
{
	const struct text_matcher *m = s->m;
	size_t edge = len < m->len - 1 ? len : m->len - 1, i, used;
	int ret = 0;

	stream_materialize(s);
	if (m->ascii && len >= m->len) {
		ret = ascii_ci_find((const unsigned char *)in, len,
				    (const unsigned char *)m->needle, m->len);
		if (ret > 0) {
			s->found = 1;
			return;
		}
	}
	if (ret < 0) {
		/* too many near misses: fold it all and let memmem's linear
		   worst case do the work */
		for (i = 0; i < len && !s->found; i += used)
			used = stream_slow_step(s, in + i, len - i < m->slow_step ?
						len - i : m->slow_step, 1);
		return;
	}
	if (s->tail_len > 0) {
		/* matches that start in the tail and end in this stretch */
		unsigned char *d = (unsigned char *)strbuf_reserve(&s->buf, edge);

		for (i = 0; i < edge; i++)
			d[i] = ascii_lower((unsigned char)in[i]);
		s->buf.len += edge;
		if (memmem(s->buf.data, s->buf.len, m->needle, m->len) != NULL)
			s->found = 1;
		s->buf.len = s->tail_len;
	}
	s->pend = in;
	s->pend_len = len;
}

/* Feeds in[0..len): pure-ASCII stretches in place, the rest folded.  With
   `final`, the input ends here and a cut character is ill-formed; without,
   it is kept in s->part for the next chunk. */
static void stream_run(struct text_matcher_stream *s, const char *in,
		       size_t len, int final)
{
	size_t i = 0, used;

	while (i < len && !s->found) {
		size_t n = ascii_span((const unsigned char *)in + i,
				      len - i < TEXT_MATCH_ASCII_STEP ?
				      len - i : TEXT_MATCH_ASCII_STEP);
		int at_end;

		if (n > 0) {
			stream_ascii_step(s, in + i, n);
			i += n;
			continue;
		}
		n = len - i < s->m->slow_step ? len - i : s->m->slow_step;
		at_end = i + n == len;
		used = stream_slow_step(s, in + i, n, at_end && final);
		if (at_end && used < n) {
			/* a character cut by the end of the chunk (at most 3
			   bytes: a longer prefix would be a whole character) */
			s->part_len = n - used;
			memcpy(s->part, in + i + used, s->part_len);
			break;
		}
		/* a character cut by the end of the step starts the next */
		i += used;
	}
}

/* Completes the character cut at the end of the previous chunk; returns
   how many bytes of the chunk it took. */
static size_t stream_complete_part(struct text_matcher_stream *s,
				   const char *in, size_t len)
{
	char tmp[8];
	size_t take = len < 4 ? len : 4, used;
	uint32_t cp;

	memcpy(tmp, s->part, s->part_len);
	memcpy(tmp + s->part_len, in, take);
	used = charset_utf8_decode(tmp, s->part_len + take, &cp);
	if (cp == CHARSET_UTF8_SHORT) {
		/* still incomplete: the whole chunk joins the part */
		memcpy(s->part + s->part_len, in, take);
		s->part_len += take;
		return take;
	}
	/* the part was a valid prefix, so the character covers all of it */
	stream_slow_step(s, tmp, used, 1);
	used -= s->part_len;
	s->part_len = 0;
	return used;
}

struct text_matcher *text_matcher_create(const char *needle_utf8, size_t len)
{
	struct text_matcher *m = xcalloc(1, sizeof(*m));
	struct strbuf folded = STRBUF_INIT;

	text_match_fold(needle_utf8, len, &folded);
	m->len = folded.len;
	m->needle = strbuf_steal(&folded);
	m->ascii = ascii_span((const unsigned char *)m->needle, m->len) == m->len;
	m->slow_step = m->len * 2 > TEXT_MATCH_SLOW_STEP ? m->len * 2 :
		       TEXT_MATCH_SLOW_STEP;
	return m;
}

int text_matcher_find(const struct text_matcher *m, const char *hay,
		      size_t len)
{
	struct text_matcher_stream s;

	stream_init(&s, m);
	/* no length shortcut: folding can make text longer */
	if (!s.found)
		stream_run(&s, hay, len, 1);
	strbuf_free(&s.buf);
	return s.found;
}

void text_matcher_destroy(struct text_matcher **m)
{
	if (*m == NULL)
		return;
	free((*m)->needle);
	free(*m);
	*m = NULL;
}

struct text_matcher_stream *
text_matcher_stream_create(const struct text_matcher *m)
{
	struct text_matcher_stream *s = xmalloc(sizeof(*s));

	stream_init(s, m);
	return s;
}

int text_matcher_feed(struct text_matcher_stream *s, const char *chunk,
		      size_t len)
{
	size_t used = 0;

	if (s->found || len == 0)
		return s->found;
	if (s->part_len > 0)
		used = stream_complete_part(s, chunk, len);
	if (!s->found)
		stream_run(s, chunk + used, len - used, 0);
	if (!s->found)
		stream_materialize(s); /* the chunk goes away */
	return s->found;
}

int text_matcher_finish(struct text_matcher_stream *s)
{
	if (!s->found && s->part_len > 0) {
		stream_slow_step(s, s->part, s->part_len, 1);
		s->part_len = 0;
	}
	return s->found;
}

void text_matcher_stream_reset(struct text_matcher_stream *s)
{
	struct strbuf buf = s->buf;

	stream_init(s, s->m);
	strbuf_reset(&buf);
	s->buf = buf;
}

void text_matcher_stream_destroy(struct text_matcher_stream **s)
{
	if (*s == NULL)
		return;
	strbuf_free(&(*s)->buf);
	free(*s);
	*s = NULL;
}
