/* libFuzzer target for the MIME parser, the ENVELOPE/BODYSTRUCTURE
 * renderers and the message cache blob.  Each input is used twice: as a
 * message (parse, iterate, render, serialize, reopen, resolve sections) and
 * as a blob (which must be rejected or opened without harm).
 * Build: make fuzz-mime (clang -fsanitize=fuzzer,address,undefined). */
#include "autoconfig.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail/imap-envelope.h"
#include "mail/imap-quote.h"
#include "mail/message-cache.h"
#include "mail/message-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_sections[] = {
	"", "HEADER", "TEXT", "1", "1.MIME", "2", "1.1", "1.2", "2.1", "2.2",
	"2.HEADER", "2.TEXT", "1.1.1", "3.1.2.MIME", "1.HEADER.FIELDS (FROM)",
};

static void fuzz_check_range(const struct message_cache_view *view,
			     const struct message_cache_range *range)
{
	if (range->offset > view->message_size ||
	    range->size > view->message_size - range->offset)
		abort();
}

static void fuzz_walk(const struct message_parser_result *result)
{
	struct message_parser_text_iter text_iter;
	struct message_parser_header_iter hdr_iter;
	struct message_header_field field;
	struct message_text_part text;
	const struct message_part *part;
	unsigned int n = 0;

	for (part = result->root; part != NULL; part = message_parser_part_next(part)) {
		if (part->body_offset + part->body_size > result->size)
			abort();
		n++;
	}
	if (n != result->part_count || n > MESSAGE_PARSER_MAX_PARTS)
		abort();
	message_parser_header_iter_init(&hdr_iter, result->data,
					result->root->header_offset,
					result->root->header_size);
	while (message_parser_header_iter_next(&hdr_iter, &field)) {
		if (field.offset + field.size > result->size)
			abort();
	}
	message_parser_text_iter_init(&text_iter, result);
	while (message_parser_text_iter_next(&text_iter, &text)) {
		if (text.charset == NULL || text.encoding == NULL)
			abort();
	}
	message_parser_text_iter_deinit(&text_iter);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data, *error;
	struct message_parser_result *result;
	struct message_cache_view view;
	struct message_cache_range range;
	struct strbuf blob = STRBUF_INIT, tmp = STRBUF_INIT;
	size_t i;

	result = message_parser_parse(msg, size);
	fuzz_walk(result);
	message_cache_serialize(result, &blob);
	message_parser_destroy(&result);
	if (message_cache_open(blob.data, blob.len, &view, &error) < 0)
		abort();
	for (i = 0; i < sizeof(fuzz_sections) / sizeof(fuzz_sections[0]); i++) {
		if (message_cache_find_section(&view, fuzz_sections[i], &range,
					       &error) > 0)
			fuzz_check_range(&view, &range);
	}
	/* A corrupted blob: flip one byte chosen by the input. */
	if (size > 0 && blob.len > 0) {
		blob.data[data[0] % blob.len] ^= (char)(data[size - 1] | 1);
		(void)message_cache_open(blob.data, blob.len, &view, &error);
		(void)message_cache_open(blob.data, blob.len / 2, &view, &error);
	}
	/* The input itself as a blob. */
	if (message_cache_open(data, size, &view, &error) == 0) {
		for (i = 0; i < sizeof(fuzz_sections) / sizeof(fuzz_sections[0]); i++)
			(void)message_cache_find_section(&view, fuzz_sections[i],
							 &range, &error);
	}
	imap_envelope_write_addresses(&tmp, msg, size);
	imap_quote_astring(&tmp, msg, size);
	strbuf_free(&tmp);
	strbuf_free(&blob);
	return 0;
}
