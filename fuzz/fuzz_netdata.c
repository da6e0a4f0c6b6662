/* libFuzzer target for the NETDATA parser (delivery/spool/netdata.c) and
 * the spool's reading of a file (spool-read.c: NETDATA or envelope + plain
 * message, translated to CRLF lines).  Each input is parsed whole and fed
 * in pieces whose size comes from the input's first byte; both must agree
 * (same verdict, same records).  Build: make fuzz-netdata. */
#include "autoconfig.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "netdata.h"
#include "spool-private.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_sum {
	unsigned controls, records;
	uint64_t hash;
};

static void fuzz_mix(struct fuzz_sum *s, const unsigned char *d, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		s->hash = (s->hash ^ d[i]) * 1099511628211ull;
	s->hash = (s->hash ^ len) * 1099511628211ull;
}

static int fuzz_control(void *ctx, const struct netdata_control *rec, const char **error_r)
{
	struct fuzz_sum *s = ctx;
	unsigned i, v;

	(void)error_r;
	s->controls++;
	for (i = 0; i < rec->unit_count; i++) {
		(void)netdata_key_name(rec->units[i].key);
		for (v = 0; v < rec->units[i].count; v++) {
			fuzz_mix(s, rec->units[i].values[v].data, rec->units[i].values[v].len);
			(void)netdata_value_number(&rec->units[i].values[v]);
		}
	}
	fuzz_mix(s, rec->raw, rec->raw_len);
	return 0;
}

static int fuzz_data(void *ctx, const unsigned char *rec, size_t len, const char **error_r)
{
	struct fuzz_sum *s = ctx;

	(void)error_r;
	s->records++;
	fuzz_mix(s, rec, len);
	return 0;
}

static const struct netdata_callbacks fuzz_cb = { fuzz_control, fuzz_data };

static int fuzz_pieces(const uint8_t *data, size_t size, size_t step, struct fuzz_sum *s)
{
	struct netdata_parser *p = netdata_parser_create(&fuzz_cb, s);
	const char *error;
	size_t pos = 0;
	int ret = 0;

	while (ret == 0 && pos < size) {
		size_t n = size - pos < step ? size - pos : step;

		ret = netdata_parser_feed(p, data + pos, n, &error);
		pos += n;
	}
	if (ret == 0)
		ret = netdata_parser_finish(p, &error);
	if (ret < 0 && (error == NULL || *error == '\0'))
		abort();
	netdata_parser_destroy(&p);
	return ret;
}

/* spool-read.c on the same bytes, into /dev/null. */
static void fuzz_spool_read(const uint8_t *data, size_t size)
{
	static struct spool s;
	static int devnull = -1;
	struct spool_msg m;
	unsigned i;

	if (devnull < 0) {
		devnull = open("/dev/null", O_WRONLY);
		for (i = 0; i < 256; i++)
			s.to_ascii[i] = (unsigned char)(i ^ 0x40);
	}
	memset(&m, 0, sizeof(m));
	m.s = &s;
	m.out_fd = devnull;
	if (spool_msg_read(&m, data, size) < 0 && m.reason[0] == '\0')
		abort();
	strbuf_free(&m.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_sum whole, part;
	const char *error;
	size_t step = size > 0 ? (size_t)(data[0] % 97) + 1 : 1;
	int r1, r2;

	memset(&whole, 0, sizeof(whole));
	memset(&part, 0, sizeof(part));
	r1 = fuzz_pieces(data, size, size > 0 ? size : 1, &whole);
	r2 = fuzz_pieces(data, size, step, &part);
	if (r1 != r2 || whole.controls != part.controls || whole.records != part.records ||
	    whole.hash != part.hash)
		abort();
	(void)netdata_sniff(data, size);
	(void)netdata_parse_buffer(data, size, &fuzz_cb, &whole, &error);
	fuzz_spool_read(data, size);
	return 0;
}
