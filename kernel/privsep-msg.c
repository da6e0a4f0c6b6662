#include "autoconfig.h"
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <vimap/auth.h>
#include "error.h"
#include "privsep-msg.h"
#include "xalloc.h"

enum privsep_field_kind {
	PF_NONE = 0,   /* not carried: length 0 */
	PF_TEXT,       /* octets without NUL */
	PF_DATA,       /* any octets */
	PF_FIXED       /* exactly `max` octets */
};

struct privsep_field_rule {
	unsigned char kind;       /* enum privsep_field_kind */
	unsigned char nullable;   /* PRIVSEP_NULL(i) allowed */
	uint32_t max;
};

struct privsep_rule {
	const char *name;
	int request;              /* sent by vimapd to the auth process */
	uint32_t flags;           /* the flags allowed besides PRIVSEP_NULL */
	int32_t result_min, result_max;
	struct privsep_field_rule field[PRIVSEP_FIELDS];
};

#define TEXT(max) { PF_TEXT, 0, (max) }
#define TEXT_OR_NULL(max) { PF_TEXT, 1, (max) }
#define NONE { PF_NONE, 0, 0 }
#define HAS_ALL (PRIVSEP_HAS_VERIFY | PRIVSEP_HAS_SASL | PRIVSEP_HAS_SCRAM)

static const struct privsep_rule privsep_rules[PRIVSEP_TYPE_COUNT] = {
	[PRIVSEP_HELLO] = { "HELLO", 0, HAS_ALL, -1, 0,
		{ TEXT(64), TEXT(256), TEXT(PRIVSEP_TEXT_MAX), TEXT(PRIVSEP_TEXT_MAX) } },
	[PRIVSEP_DOWN] = { "DOWN", 0, 0, INT32_MIN, INT32_MAX, { NONE, NONE, NONE, NONE } },
	[PRIVSEP_REFUSED] = { "REFUSED", 0, 0, 0, 0,
		{ TEXT(PRIVSEP_TEXT_MAX), NONE, NONE, NONE } },
	[PRIVSEP_VERIFY] = { "VERIFY", 1, 0, 0, 0,
		{ TEXT(PRIVSEP_TEXT_MAX), TEXT(PRIVSEP_TEXT_MAX), NONE, NONE } },
	[PRIVSEP_VERIFY_REPLY] = { "VERIFY_REPLY", 0, 0, -1, 1,
		{ TEXT_OR_NULL(PRIVSEP_TEXT_MAX), NONE, NONE, NONE } },
	[PRIVSEP_SASL_START] = { "SASL_START", 1, 0, 0, 0,
		{ TEXT(64), TEXT(256), NONE, NONE } },
	[PRIVSEP_SASL_START_REPLY] = { "SASL_START_REPLY", 0, 0, -1, 0,
		{ TEXT_OR_NULL(PRIVSEP_TEXT_MAX), NONE, NONE, NONE } },
	[PRIVSEP_SASL_STEP] = { "SASL_STEP", 1, 0, 0, 0,
		{ { PF_DATA, 1, PRIVSEP_DATA_MAX }, NONE, NONE, NONE } },
	[PRIVSEP_SASL_STEP_REPLY] = { "SASL_STEP_REPLY", 0, 0, -2, 2,
		{ { PF_DATA, 1, PRIVSEP_DATA_MAX }, TEXT_OR_NULL(PRIVSEP_TEXT_MAX),
		  TEXT_OR_NULL(PRIVSEP_TEXT_MAX), NONE } },
	[PRIVSEP_SASL_END] = { "SASL_END", 1, 0, 0, 0, { NONE, NONE, NONE, NONE } },
	[PRIVSEP_SASL_END_REPLY] = { "SASL_END_REPLY", 0, 0, 0, 0, { NONE, NONE, NONE, NONE } },
	[PRIVSEP_SCRAM_SECRET] = { "SCRAM_SECRET", 1, 0, 0, 0,
		{ TEXT(PRIVSEP_TEXT_MAX), NONE, NONE, NONE } },
	[PRIVSEP_SCRAM_SECRET_REPLY] = { "SCRAM_SECRET_REPLY", 0, 0, -1, 1,
		{ { PF_FIXED, 1, sizeof(struct vimap_scram_secret) },
		  TEXT_OR_NULL(PRIVSEP_TEXT_MAX), NONE, NONE } },
};

_Static_assert(sizeof(struct privsep_hdr) == 48, "privsep_hdr has padding");

static const struct privsep_rule *privsep_rule(uint32_t type)
{
	if (type == 0 || type >= PRIVSEP_TYPE_COUNT)
		return NULL;
	return &privsep_rules[type];
}

const char *privsep_msg_type_name(uint32_t type)
{
	const struct privsep_rule *rule = privsep_rule(type);

	return rule != NULL ? rule->name : "?";
}

int privsep_msg_is_request(uint32_t type)
{
	const struct privsep_rule *rule = privsep_rule(type);

	return rule != NULL && rule->request;
}

/* Checks one field of a message of `rule`: its presence, length and
   content.  `data` may be NULL only when `is_null`. */
static int privsep_check_field(const struct privsep_rule *rule, unsigned i, int is_null,
			       const void *data, size_t len, const char **error_r)
{
	const struct privsep_field_rule *f = &rule->field[i];

	if (f->kind == PF_NONE) {
		if (len != 0 || is_null)
			return error_set(error_r, "%s: field %u must be empty", rule->name, i);
		return 0;
	}
	if (is_null) {
		if (!f->nullable || len != 0)
			return error_set(error_r, "%s: field %u must not be NULL", rule->name, i);
		return 0;
	}
	if (len > f->max)
		return error_set(error_r, "%s: field %u has %zu octets, at most %u allowed",
				 rule->name, i, len, (unsigned)f->max);
	if (f->kind == PF_FIXED && len != f->max)
		return error_set(error_r, "%s: field %u has %zu octets, %u expected",
				 rule->name, i, len, (unsigned)f->max);
	if (f->kind == PF_TEXT && len > 0 && memchr(data, '\0', len) != NULL)
		return error_set(error_r, "%s: field %u holds a NUL", rule->name, i);
	return 0;
}

/* The header-level checks both directions share. */
static int privsep_check_header(const struct privsep_hdr *hdr,
				const struct privsep_rule **rule_r, const char **error_r)
{
	const struct privsep_rule *rule = privsep_rule(hdr->type);
	uint32_t nulls = PRIVSEP_NULL(0) | PRIVSEP_NULL(1) | PRIVSEP_NULL(2) | PRIVSEP_NULL(3);

	if (rule == NULL)
		return error_set(error_r, "unknown message type %u", (unsigned)hdr->type);
	if ((hdr->flags & ~(rule->flags | nulls)) != 0)
		return error_set(error_r, "%s: unknown flags 0x%x", rule->name,
				 (unsigned)hdr->flags);
	if (hdr->result < rule->result_min || hdr->result > rule->result_max)
		return error_set(error_r, "%s: result %d out of range", rule->name,
				 (int)hdr->result);
	*rule_r = rule;
	return 0;
}

int privsep_msg_encode(const struct privsep_msg *msg, unsigned char **data_r,
		       size_t *size_r, const char **error_r)
{
	const struct privsep_rule *rule;
	struct privsep_hdr hdr = msg->hdr;
	size_t total = sizeof(hdr), off;
	unsigned i;

	/* NULL flags follow the fields: a NULL field of a carried kind. */
	hdr.flags &= ~(PRIVSEP_NULL(0) | PRIVSEP_NULL(1) | PRIVSEP_NULL(2) | PRIVSEP_NULL(3));
	if (privsep_check_header(&hdr, &rule, error_r) < 0)
		return -1;
	for (i = 0; i < PRIVSEP_FIELDS; i++) {
		int is_null = msg->field[i] == NULL && rule->field[i].kind != PF_NONE;

		if (is_null)
			hdr.flags |= PRIVSEP_NULL(i);
		if (privsep_check_field(rule, i, is_null, msg->field[i],
					msg->field[i] == NULL ? 0 : msg->len[i], error_r) < 0)
			return -1;
		hdr.len[i] = msg->field[i] == NULL ? 0 : (uint32_t)msg->len[i];
		total += hdr.len[i];
	}
	*data_r = xmalloc(total);
	memcpy(*data_r, &hdr, sizeof(hdr));
	off = sizeof(hdr);
	for (i = 0; i < PRIVSEP_FIELDS; i++) {
		if (hdr.len[i] > 0)
			memcpy(*data_r + off, msg->field[i], hdr.len[i]);
		off += hdr.len[i];
	}
	*size_r = total;
	return 0;
}

int privsep_msg_decode(const void *data, size_t size, struct privsep_msg *msg_r,
		       const char **error_r)
{
	const unsigned char *p = data;
	const struct privsep_rule *rule;
	size_t total = 0, off, boff;
	unsigned i;

	memset(msg_r, 0, sizeof(*msg_r));
	if (size < sizeof(msg_r->hdr))
		return error_set(error_r, "message of %zu octets is shorter than its header",
				 size);
	memcpy(&msg_r->hdr, p, sizeof(msg_r->hdr));
	if (privsep_check_header(&msg_r->hdr, &rule, error_r) < 0)
		return -1;
	/* Each length is checked against its (small) maximum before it is
	   added, so the sum cannot wrap. */
	for (i = 0; i < PRIVSEP_FIELDS; i++) {
		size_t len = msg_r->hdr.len[i];
		int is_null = (msg_r->hdr.flags & PRIVSEP_NULL(i)) != 0;

		if (len > PRIVSEP_DATA_MAX || total + len > size - sizeof(msg_r->hdr))
			return error_set(error_r, "%s: field %u's length %zu overruns the "
					 "message of %zu octets", rule->name, i, len, size);
		if (privsep_check_field(rule, i, is_null, p + sizeof(msg_r->hdr) + total,
					len, error_r) < 0)
			return -1;
		total += len;
	}
	if (sizeof(msg_r->hdr) + total != size)
		return error_set(error_r, "%s: %zu octets after the fields", rule->name,
				 size - sizeof(msg_r->hdr) - total);
	msg_r->buf = xmalloc(total + PRIVSEP_FIELDS);
	off = sizeof(msg_r->hdr);
	boff = 0;
	for (i = 0; i < PRIVSEP_FIELDS; i++) {
		size_t len = msg_r->hdr.len[i];

		memcpy(msg_r->buf + boff, p + off, len);
		msg_r->buf[boff + len] = '\0';
		msg_r->len[i] = len;
		if (rule->field[i].kind != PF_NONE && !(msg_r->hdr.flags & PRIVSEP_NULL(i)))
			msg_r->field[i] = msg_r->buf + boff;
		off += len;
		boff += len + 1;
	}
	return 0;
}

void privsep_msg_free(struct privsep_msg *msg)
{
	size_t total = PRIVSEP_FIELDS;
	unsigned i;

	if (msg->buf != NULL) {
		for (i = 0; i < PRIVSEP_FIELDS; i++)
			total += msg->len[i];
		OPENSSL_cleanse(msg->buf, total);
		free(msg->buf);
	}
	msg->buf = NULL;
	for (i = 0; i < PRIVSEP_FIELDS; i++) {
		msg->field[i] = NULL;
		msg->len[i] = 0;
	}
}

int privsep_msg_send(int fd, const struct privsep_msg *msg, const char **error_r)
{
	unsigned char *data;
	size_t size;
	ssize_t n;

	if (privsep_msg_encode(msg, &data, &size, error_r) < 0)
		return -1;
	do {
		n = send(fd, data, size, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	OPENSSL_cleanse(data, size);
	free(data);
	if (n < 0)
		return error_set(error_r, "send(%s) failed: %s",
				 privsep_msg_type_name(msg->hdr.type), strerror(errno));
	return 0;
}

int privsep_msg_recv(int fd, unsigned char *buf, struct privsep_msg *msg_r,
		     const char **error_r)
{
	ssize_t n;
	int ret;

	memset(msg_r, 0, sizeof(*msg_r));
	do {
		/* MSG_TRUNC: the record's real length, to refuse one too long. */
		n = recv(fd, buf, PRIVSEP_MSG_MAX + 1, MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_set(error_r, "recv() failed: %s", strerror(errno));
	if (n == 0)
		return 0;
	if ((size_t)n > PRIVSEP_MSG_MAX) {
		if ((size_t)n >= sizeof(msg_r->hdr))
			memcpy(&msg_r->hdr, buf, sizeof(msg_r->hdr));
		OPENSSL_cleanse(buf, PRIVSEP_MSG_MAX + 1);
		error_set(error_r, "a record of %zd octets is longer than %zu", n,
			  (size_t)PRIVSEP_MSG_MAX);
		return -2;
	}
	ret = privsep_msg_decode(buf, (size_t)n, msg_r, error_r);
	/* The record may hold a password: only the decoded copy lives on. */
	OPENSSL_cleanse(buf, (size_t)n);
	return ret < 0 ? -2 : 1;
}
