#include "autoconfig.h"
/* Throughput of the SEARCH engine (kernel/imap-search.c) with its built-in
 * source, which parses, transfer-decodes and charset-converts each message.
 *
 *   bench/bench_search [messages [label-prefix]]
 *
 * Builds `messages` (default 100,000) synthetic messages of about 3 KB in
 * memory: a quarter each plain US-ASCII, ISO-8859-1 quoted-printable, UTF-8
 * base64 and multipart/alternative (QP text/plain + text/html + a base64
 * attachment); half the subjects are RFC 2047 encoded words.  Then times,
 * the way a session runs them (prematch on the index record, match when
 * undecided), over every message:
 *   UID SEARCH BODY <absent>        every body decoded and searched
 *   UID SEARCH TEXT <absent>        header and body
 *   UID SEARCH SUBJECT <word>       the header accessor on the data
 *   UID SEARCH UNSEEN UNDELETED     flags only: no message data
 *   BODY on 2 threads               one search object per thread
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vimap/storage.h>
#include "imap-parser.h"
#include "imap-search.h"
#include "pool.h"
#include "strbuf.h"
#include "xalloc.h"
#include "mail/charset.h"

static const char *const bench_words[] = {
	"the", "of", "and", "to", "in", "is", "you", "that", "it", "he",
	"was", "for", "on", "are", "as", "with", "his", "they", "at", "be",
	"this", "have", "from", "or", "one", "had", "by", "word", "but", "not",
	"what", "all", "were", "we", "when", "your", "can", "said", "there",
	"use", "an", "each", "which", "she", "do", "how", "their", "if", "will",
	"Meeting", "Regards", "Thanks", "Please", "Quarterly", "report",
	"attached", "FYI", "ASAP", "schedule", "budget", "review",
};
#define BENCH_NWORDS (sizeof(bench_words) / sizeof(bench_words[0]))

static uint32_t bench_rng = 12345;

static uint32_t bench_rand(void)
{
	bench_rng = bench_rng * 1103515245u + 12345u;
	return bench_rng >> 8;
}

/* Appends about `len` bytes of text in CRLF lines; latin1 != 0 puts an
   ISO-8859-1 "Grüße" (raw bytes) in now and then. */
static void bench_text(struct strbuf *out, size_t len, int latin1)
{
	size_t start = out->len, line = 0;

	while (out->len - start < len) {
		const char *w = bench_words[bench_rand() % BENCH_NWORDS];

		if (latin1 && bench_rand() % 40 == 0)
			w = "Gr\xfc\xdf" "e";
		strbuf_appends(out, w);
		line += strlen(w) + 1;
		if (line > 66) {
			strbuf_append(out, "\r\n", 2);
			line = 0;
		} else {
			strbuf_appendc(out, ' ');
		}
	}
	strbuf_append(out, "\r\n", 2);
}

static void bench_qp(struct strbuf *out, const char *in, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '\r' && i + 1 < len && in[i + 1] == '\n') {
			strbuf_append(out, "\r\n", 2);
			i++;
			col = 0;
			continue;
		}
		if (col >= 72) {
			strbuf_append(out, "=\r\n", 3);
			col = 0;
		}
		if (c >= 128 || c == '=') {
			strbuf_appendc(out, '=');
			strbuf_appendc(out, hex[c >> 4]);
			strbuf_appendc(out, hex[c & 15]);
			col += 3;
		} else {
			strbuf_appendc(out, (char)c);
			col++;
		}
	}
}

static void bench_base64(struct strbuf *out, const char *in, size_t len)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)in;
	size_t i, col = 0;

	for (i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? b64[v & 63] : '=';
		strbuf_append(out, q, 4);
		if ((col += 4) >= 76) {
			strbuf_append(out, "\r\n", 2);
			col = 0;
		}
	}
	strbuf_append(out, "\r\n", 2);
}

static void bench_header(struct strbuf *out, unsigned i)
{
	strbuf_appendf(out, "Return-Path: <sender%u@example.com>\r\n"
		       "Received: from mx%u.example.com by mail.example.org;"
		       " Tue, 1 Jul 2003 10:52:37 +0200\r\n"
		       "From: Sender %u <sender%u@example.com>\r\n"
		       "To: Recipient <rcpt@example.org>\r\n"
		       "Message-ID: <%u.%u@example.com>\r\n"
		       "Date: Tue, %u Jul 2003 10:52:37 +0200\r\n",
		       i % 97, i % 13, i, i % 97, i, bench_rand(), 1 + i % 28);
	if (i % 2 == 0)
		strbuf_appendf(out, "Subject: =?UTF-8?Q?Quarterly_r=C3=A9port_%u?="
			       "\r\n", i);
	else
		strbuf_appendf(out, "Subject: Re: budget review %u\r\n", i);
	strbuf_appends(out, "MIME-Version: 1.0\r\n");
}

/* Appends message number i (the kind is i % 4). */
static void bench_message(struct strbuf *out, struct strbuf *tmp, unsigned i)
{
	bench_header(out, i);
	strbuf_reset(tmp);
	switch (i % 4) {
	case 0:
		strbuf_appends(out, "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
		bench_text(out, 2600, 0);
		break;
	case 1:
		strbuf_appends(out, "Content-Type: text/plain; charset=iso-8859-1\r\n"
			       "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		bench_text(tmp, 2500, 1);
		bench_qp(out, tmp->data, tmp->len);
		break;
	case 2:
		strbuf_appends(out, "Content-Type: text/plain; charset=utf-8\r\n"
			       "Content-Transfer-Encoding: base64\r\n\r\n");
		bench_text(tmp, 1900, 0);
		bench_base64(out, tmp->data, tmp->len);
		break;
	default:
		strbuf_appends(out, "Content-Type: multipart/alternative;"
			       " boundary=\"b1\"\r\n\r\n"
			       "--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
			       "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		bench_text(tmp, 1000, 1);
		bench_qp(out, tmp->data, tmp->len);
		strbuf_appends(out, "--b1\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n"
			       "<html><body><p>");
		bench_text(out, 1000, 0);
		strbuf_appends(out, "</p></body></html>\r\n--b1\r\n"
			       "Content-Type: application/octet-stream\r\n"
			       "Content-Transfer-Encoding: base64\r\n\r\n");
		strbuf_reset(tmp);
		bench_text(tmp, 300, 0);
		bench_base64(out, tmp->data, tmp->len);
		strbuf_appends(out, "--b1--\r\n");
		break;
	}
}

static double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static struct imap_search *bench_parse(struct pool *pool, const char *program)
{
	struct imap_command_args cmd;
	struct imap_search *s;
	const char *error;
	char *line = xasprintf("T UID SEARCH %s\r\n", program);

	if (imap_parse_command(line, strlen(line), pool, &cmd, &error) <= 0 ||
	    imap_search_parse(cmd.args + 1, cmd.count - 1, 1, pool, &s,
			      &error) < 0) {
		fprintf(stderr, "bench_search: %s: %s\n", program, error);
		exit(1);
	}
	free(line);
	return s;
}

struct bench_job {
	struct imap_search *search;
	const struct imap_msg *msgs;
	unsigned first, end, matches, needs_data;
};

/* What a session does per message: decide from the index record when it
   can, else load (here: it is already there) and match. */
static void *bench_job_run(void *arg)
{
	struct bench_job *job = arg;
	unsigned i;

	for (i = job->first; i < job->end; i++) {
		enum imap_search_prematch_result pre =
			imap_search_prematch(job->search, &job->msgs[i]);

		if (pre == IMAP_SEARCH_MAYBE) {
			job->needs_data++;
			pre = imap_search_match(job->search, &job->msgs[i],
						NULL, NULL) == 1 ?
				IMAP_SEARCH_YES : IMAP_SEARCH_NO;
		}
		job->matches += pre == IMAP_SEARCH_YES;
	}
	return NULL;
}

static const char *bench_only; /* run only labels starting with this */

static void bench_run(const char *label, const char *program,
		      const struct imap_msg *msgs, unsigned n, unsigned threads)
{
	struct pool pool = POOL_INIT;
	struct bench_job jobs[2];
	pthread_t tids[2];
	unsigned t, matches = 0, needs = 0, bits;
	double start = bench_now_ms(), ms;

	if (bench_only != NULL &&
	    strncmp(label, bench_only, strlen(bench_only)) != 0)
		return;
	for (t = 0; t < threads; t++) {
		jobs[t].search = bench_parse(&pool, program);
		imap_search_prepare(jobs[t].search, n, n);
		jobs[t].msgs = msgs;
		jobs[t].first = n / threads * t;
		jobs[t].end = t + 1 == threads ? n : n / threads * (t + 1);
		jobs[t].matches = jobs[t].needs_data = 0;
	}
	if (threads == 1) {
		bench_job_run(&jobs[0]);
	} else {
		for (t = 0; t < threads; t++)
			pthread_create(&tids[t], NULL, bench_job_run, &jobs[t]);
		for (t = 0; t < threads; t++)
			pthread_join(tids[t], NULL);
	}
	ms = bench_now_ms() - start;
	bits = imap_search_needs(jobs[0].search, NULL);
	for (t = 0; t < threads; t++) {
		matches += jobs[t].matches;
		needs += jobs[t].needs_data;
		imap_search_destroy(&jobs[t].search);
	}
	printf("%-34s %8.1f ms  %6u matches  %6u needed text  (needs 0x%x)\n",
	       label, ms, matches, needs, bits);
	pool_free(&pool);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
	struct strbuf all = STRBUF_INIT, tmp = STRBUF_INIT;
	struct imap_msg *msgs;
	size_t *offsets;
	unsigned i;

	if (n == 0)
		n = 100000;
	bench_only = argc > 2 ? argv[2] : NULL;
	msgs = xcalloc(n, sizeof(*msgs));
	offsets = xcalloc(n + 1, sizeof(*offsets));
	for (i = 0; i < n; i++) {
		offsets[i] = all.len;
		bench_message(&all, &tmp, i);
	}
	offsets[n] = all.len;
	for (i = 0; i < n; i++) {
		msgs[i].seq = i + 1;
		msgs[i].uid = i + 1;
		msgs[i].flags = (bench_rand() % 3 == 0 ? 0 : VIMAP_FLAG_SEEN) |
			(bench_rand() % 20 == 0 ? VIMAP_FLAG_DELETED : 0);
		msgs[i].keywords = "";
		msgs[i].internal_date = 1057046400 + (int64_t)i * 60;
		msgs[i].data = all.data + offsets[i];
		msgs[i].data_size = offsets[i + 1] - offsets[i];
		msgs[i].size = msgs[i].data_size;
	}
	printf("%u messages, %.1f MB, %.0f bytes on average\n", n,
	       (double)all.len / 1e6, (double)all.len / n);

	bench_run("BODY (no match)", "BODY xyzzy-absent", msgs, n, 1);
	bench_run("BODY (matches Gr\xc3\xbc\xc3\x9f" "e)",
		  "CHARSET UTF-8 BODY GR\xc3\x9c\xc3\x9f" "E", msgs, n, 1);
	bench_run("TEXT (no match)", "TEXT xyzzy-absent", msgs, n, 1);
	bench_run("SUBJECT (r\xc3\xa9port 777)", "SUBJECT \"r\xc3\xa9port 777\"",
		  msgs, n, 1);
	bench_run("SUBJECT (no match)", "SUBJECT xyzzy", msgs, n, 1);
	bench_run("UNSEEN UNDELETED (flags only)", "UNSEEN UNDELETED", msgs, n, 1);
	bench_run("UNSEEN BODY (no match)", "UNSEEN BODY xyzzy-absent", msgs, n, 1);
	bench_run("BODY (no match), 2 threads", "BODY xyzzy-absent", msgs, n, 2);

	strbuf_free(&all);
	strbuf_free(&tmp);
	free(msgs);
	free(offsets);
	charset_thread_deinit();
	return 0;
}
