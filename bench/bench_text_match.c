#include "autoconfig.h"
/* Throughput of the SEARCH text matcher on the path that dominates SEARCH
 * BODY: a needle that is not there, in plain ASCII mail text.
 *
 *   bench/bench_text_match [MB [message-bytes]]
 *
 * Builds MB (default 500) of synthetic ASCII text (words, mixed case, CRLF
 * lines; no digits, so the needle, which has one, never matches), then
 * times: text_matcher_find() per message (default 5000 bytes, i.e. 100,000
 * messages for 500 MB), the same with a needle whose first and last bytes
 * are frequent, one call over the whole buffer, the streaming
 * interface in 64 KiB chunks, glibc's case-sensitive memmem() as the
 * reference, and the folding path over text with some non-ASCII. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "xalloc.h"
#include "mail/text-match.h"

static const char *const bench_words[] = {
	"the", "of", "and", "to", "in", "is", "you", "that", "it", "he",
	"was", "for", "on", "are", "as", "with", "his", "they", "at", "be",
	"this", "have", "from", "or", "one", "had", "by", "word", "but", "not",
	"what", "all", "were", "we", "when", "your", "can", "said", "there",
	"use", "an", "each", "which", "she", "do", "how", "their", "if", "will",
	"up", "other", "about", "out", "many", "then", "them", "these", "so",
	"Meeting", "Regards", "Thanks", "Please", "Subject", "Quarterly",
	"report", "attached", "FYI", "ASAP", "schedule", "budget", "review",
};

static uint32_t bench_rng = 12345;

static uint32_t bench_rand(void)
{
	bench_rng = bench_rng * 1103515245u + 12345u;
	return bench_rng >> 8;
}

/* Fills buf[0..len) with text; every `non_ascii`-th word (0: never) is
   "café" in UTF-8. */
static void bench_fill(char *buf, size_t len, unsigned non_ascii)
{
	size_t pos = 0, line = 0, nwords = sizeof(bench_words) /
					    sizeof(bench_words[0]);
	unsigned count = 0;

	while (pos < len) {
		const char *w = bench_words[bench_rand() % nwords];
		size_t n;

		if (non_ascii != 0 && ++count % non_ascii == 0)
			w = "caf\xc3\xa9";
		n = strlen(w);
		if (line + n + 1 > 72) {
			w = "\r\n";
			n = 2;
			line = 0;
		} else {
			line += n + 1;
		}
		if (n > len - pos)
			n = len - pos;
		memcpy(buf + pos, w, n);
		pos += n;
		if (pos < len && line != 0)
			buf[pos++] = ' ';
	}
}

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_report(const char *what, size_t bytes, double secs,
			 int found)
{
	printf("%-44s %8.0f MB/s  %7.3f s%s\n", what,
	       (double)bytes / 1e6 / secs, secs, found ? "  (FOUND?!)" : "");
}

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 500;
	size_t msg = argc > 2 ? strtoul(argv[2], NULL, 10) : 5000;
	size_t len = mb * 1000 * 1000, pos, nmsg = 0, mixed_len;
	static const char needle[] = "Quux-7-Frobnicate";
	struct text_matcher *m = text_matcher_create(needle, strlen(needle));
	struct text_matcher_stream *s;
	char *buf, label[80];
	double t;
	int found = 0;

	if (mb == 0 || msg == 0) {
		fprintf(stderr, "usage: %s [MB [message-bytes]]\n", argv[0]);
		return 2;
	}
	buf = xmalloc(len);
	bench_fill(buf, len, 0);
	printf("needle \"%s\", %zu MB of ASCII text, no match\n", needle, mb);

	t = bench_now();
	for (pos = 0; pos < len; pos += msg, nmsg++)
		found |= text_matcher_find(m, buf + pos, len - pos < msg ?
					   len - pos : msg);
	t = bench_now() - t;
	snprintf(label, sizeof(label), "text_matcher_find, %zu messages of %zu B",
		 nmsg, msg);
	bench_report(label, len, t, found);
	printf("%-44s %8.3f s\n", "  => per 100,000 such messages",
	       t * 100000.0 / (double)nmsg);

	t = bench_now();
	found = text_matcher_find(m, buf, len);
	bench_report("text_matcher_find, one call", len, bench_now() - t, found);

	/* first and last bytes frequent in the text: many candidates */
	{
		static const char common[] = "the 7 report";
		struct text_matcher *m2 = text_matcher_create(common,
							      strlen(common));

		found = 0;
		t = bench_now();
		for (pos = 0; pos < len; pos += msg)
			found |= text_matcher_find(m2, buf + pos, len - pos < msg ?
						   len - pos : msg);
		snprintf(label, sizeof(label), "find per message, needle \"%s\"",
			 common);
		bench_report(label, len, bench_now() - t, found);
		text_matcher_destroy(&m2);
	}

	s = text_matcher_stream_create(m);
	t = bench_now();
	for (pos = 0; pos < len; pos += 65536)
		text_matcher_feed(s, buf + pos, len - pos < 65536 ? len - pos : 65536);
	found = text_matcher_finish(s);
	bench_report("text_matcher_feed, 64 KiB chunks", len, bench_now() - t,
		     found);
	text_matcher_stream_destroy(&s);

	t = bench_now();
	found = memmem(buf, len, needle, strlen(needle)) != NULL;
	bench_report("memmem (case-sensitive reference)", len, bench_now() - t,
		     found);

	mixed_len = len < 100 * 1000 * 1000 ? len : 100 * 1000 * 1000;
	bench_fill(buf, mixed_len, 40);
	t = bench_now();
	found = 0;
	for (pos = 0; pos < mixed_len; pos += msg)
		found |= text_matcher_find(m, buf + pos, mixed_len - pos < msg ?
					   mixed_len - pos : msg);
	bench_report("find, 1 non-ASCII word in 40 (folding path)", mixed_len,
		     bench_now() - t, found);

	text_matcher_destroy(&m);
	free(buf);
	return 0;
}
