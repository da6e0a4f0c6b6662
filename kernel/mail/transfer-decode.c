#include "autoconfig.h"
#include <string.h>
#include <strings.h>
#include "error.h"
#include "strbuf.h"
#include "transfer-decode.h"

/* base64 alphabet value + 1 of each byte; 0 for everything else */
static const unsigned char base64_values[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27,
	['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62,
	['+'] = 63, ['/'] = 64,
};

static const struct {
	const char *name;
	enum transfer_encoding encoding;
} transfer_encoding_names[] = {
	{ "7bit", TRANSFER_ENCODING_7BIT },
	{ "8bit", TRANSFER_ENCODING_8BIT },
	{ "binary", TRANSFER_ENCODING_BINARY },
	{ "base64", TRANSFER_ENCODING_BASE64 },
	{ "quoted-printable", TRANSFER_ENCODING_QUOTED_PRINTABLE },
};

void transfer_decode_base64(const char *in, size_t len, struct strbuf *out)
{
	unsigned char *d = (unsigned char *)strbuf_reserve(out, len / 4 * 3 + 3);
	unsigned bits = 0, nbits = 0;
	size_t i, n = 0;

	for (i = 0; i < len && in[i] != '='; i++) {
		unsigned v = base64_values[(unsigned char)in[i]];

		if (v == 0)
			continue;
		bits = (bits << 6) | (v - 1);
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			d[n++] = (unsigned char)(bits >> nbits);
			bits &= (1u << nbits) - 1;
		}
	}
	strbuf_commit(out, n);
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Offset of the first byte after the spaces and tabs starting at in[i]. */
static size_t qp_skip_blanks(const char *in, size_t len, size_t i)
{
	while (i < len && (in[i] == ' ' || in[i] == '\t'))
		i++;
	return i;
}

/* Returns the length of the line break at in[i] ("\r\n" or "\n"), 0 if
   there is none. */
static size_t qp_line_break(const char *in, size_t len, size_t i)
{
	if (i < len && in[i] == '\n')
		return 1;
	if (i + 1 < len && in[i] == '\r' && in[i + 1] == '\n')
		return 2;
	return 0;
}

void transfer_decode_qp(const char *in, size_t len, struct strbuf *out)
{
	char *d0 = strbuf_reserve(out, len), *d = d0;
	size_t i = 0, j;
	int hi, lo;

	while (i < len) {
		char c = in[i];

		if (c != '=' && c != ' ' && c != '\t') {
			*d++ = c;
			i++;
			continue;
		}
		if (c != '=') {
			j = qp_skip_blanks(in, len, i);
			if (j < len && qp_line_break(in, len, j) == 0) {
				memcpy(d, in + i, j - i);
				d += j - i;
			}
			i = j;
			continue;
		}
		j = qp_skip_blanks(in, len, i + 1);
		if (j == len || qp_line_break(in, len, j) > 0) {
			i = j + qp_line_break(in, len, j);
			continue;
		}
		hi = i + 1 < len ? hex_value((unsigned char)in[i + 1]) : -1;
		lo = i + 2 < len ? hex_value((unsigned char)in[i + 2]) : -1;
		if (hi >= 0 && lo >= 0) {
			*d++ = (char)(hi << 4 | lo);
			i += 3;
		} else {
			*d++ = '=';
			i++;
		}
	}
	strbuf_commit(out, (size_t)(d - d0));
}

enum transfer_encoding transfer_encoding_from_name(const char *name)
{
	size_t start = 0, end, i;

	if (name == NULL)
		return TRANSFER_ENCODING_7BIT;
	end = strlen(name);
	while (start < end && strchr(" \t\r\n", name[start]) != NULL)
		start++;
	while (end > start && strchr(" \t\r\n", name[end - 1]) != NULL)
		end--;
	if (start == end)
		return TRANSFER_ENCODING_7BIT;
	for (i = 0; i < sizeof(transfer_encoding_names) /
			sizeof(transfer_encoding_names[0]); i++) {
		const char *known = transfer_encoding_names[i].name;

		if (strlen(known) == end - start &&
		    strncasecmp(name + start, known, end - start) == 0)
			return transfer_encoding_names[i].encoding;
	}
	return TRANSFER_ENCODING_UNKNOWN;
}

int transfer_decode(const char *encoding, const char *in, size_t len,
		    struct strbuf *out, const char **error_r)
{
	switch (transfer_encoding_from_name(encoding)) {
	case TRANSFER_ENCODING_7BIT:
	case TRANSFER_ENCODING_8BIT:
	case TRANSFER_ENCODING_BINARY:
		strbuf_append(out, in, len);
		return 0;
	case TRANSFER_ENCODING_BASE64:
		transfer_decode_base64(in, len, out);
		return 0;
	case TRANSFER_ENCODING_QUOTED_PRINTABLE:
		transfer_decode_qp(in, len, out);
		return 0;
	case TRANSFER_ENCODING_UNKNOWN:
		break;
	}
	return error_set(error_r, "transfer-decode: unknown "
			 "Content-Transfer-Encoding '%.80s'", encoding);
}
