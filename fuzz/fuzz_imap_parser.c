/* libFuzzer target for the IMAP command path: the reader (fed in pieces
 * whose sizes come from the input itself), the parser, and the grammars
 * commands read from the argument tree (sequence sets, FETCH items, SEARCH
 * programs, flag lists, mailbox names, dates).  Build: make fuzz-parser. */
#include "autoconfig.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "imap-date.h"
#include "imap-fetch.h"
#include "imap-flags.h"
#include "imap-parser.h"
#include "imap-reader.h"
#include "imap-search.h"
#include "imap-seqset.h"
#include "mailbox-name.h"
#include "pool.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_arg(const struct imap_arg *a, struct pool *pool)
{
	struct strbuf sb = STRBUF_INIT;
	struct seqset set;
	struct imap_fetch *fetch;
	const char *error;
	uint32_t flags;
	int64_t t;
	int32_t tz;

	if (a->type != IMAP_ARG_LIST) {
		(void)seqset_parse(a->str, 100, pool, &set, &error);
		(void)mailbox_name_from_imap(a->str, a->len, &sb, &error);
		(void)imap_datetime_parse(a->str, &t, &tz);
		(void)imap_date_parse(a->str, &t);
	}
	strbuf_reset(&sb);
	(void)imap_flags_parse(a, &flags, &sb, &error);
	(void)imap_fetch_parse(a, 1, pool, &fetch, &error);
	strbuf_free(&sb);
}

static void fuzz_command(struct imap_reader *r)
{
	struct pool pool = POOL_INIT;
	struct imap_command_args cmd;
	struct imap_search *search;
	const char *error;
	unsigned i;

	if (imap_parse_command(r->cmd.data, r->cmd.len, &pool, &cmd, &error) > 0) {
		for (i = 0; i < cmd.count; i++)
			fuzz_arg(&cmd.args[i], &pool);
		if (imap_search_parse(cmd.args, cmd.count, 0, &pool, &search, &error) == 0) {
			imap_search_prepare(search, 10, 20);
			imap_search_destroy(&search);
		}
	}
	pool_free(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_reader r;
	size_t off = 0, step = size > 0 ? (size_t)(data[0] % 17) + 1 : 1;

	imap_reader_init(&r, 4096, 1024);
	while (off < size) {
		size_t piece = size - off < step ? size - off : step;

		while (piece > 0) {
			size_t used = 0;
			enum imap_reader_result res =
				imap_reader_feed(&r, (const char *)data + off, piece, &used);

			if (res == IMAP_READER_COMMAND)
				fuzz_command(&r);
			if (res == IMAP_READER_COMMAND || res == IMAP_READER_REJECT)
				imap_reader_next(&r);
			off += used;
			piece -= used;
		}
	}
	imap_reader_deinit(&r);
	return 0;
}
