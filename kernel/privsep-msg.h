/* The one typed message catalogue between vimapd and its auth process
 * (kernel/privsep.h).  Each message is one SOCK_SEQPACKET record: a fixed
 * header, then up to PRIVSEP_FIELDS variable fields back to back, their
 * lengths in the header.  Both sides decode with the same rules, so neither
 * trusts the other: every type says which fields it carries, whether each
 * is text (no NUL), binary or of a fixed size, its maximum length, and the
 * range of its result; anything else is refused before it is used.
 *
 * Both processes are the same binary on the same host: integers are in
 * native byte order. */
#ifndef VIMAP_PRIVSEP_MSG_H
#define VIMAP_PRIVSEP_MSG_H

#include <stddef.h>
#include <stdint.h>

#define PRIVSEP_FIELDS 4
/* The longest text field (user id, password, mechanism, address, reason). */
#define PRIVSEP_TEXT_MAX 4096
/* The longest binary field (a decoded SASL response or challenge). */
#define PRIVSEP_DATA_MAX 65536
/* The longest record either side sends or accepts. */
#define PRIVSEP_MSG_MAX (sizeof(struct privsep_hdr) + PRIVSEP_DATA_MAX + \
			 3 * PRIVSEP_TEXT_MAX)

enum privsep_msg_type {
	/* auth process -> vimapd: the plugin is loaded (result 0) or failed
	   to load (result -1, field 3 the reason).  flags: PRIVSEP_HAS_*;
	   fields: plugin name, plugin version, mechanisms (space-separated),
	   error. */
	PRIVSEP_HELLO = 1,
	/* the monitor -> vimapd: the auth process of generation `gen` died;
	   result: its wait status. */
	PRIVSEP_DOWN,
	/* auth process -> vimapd: the request `id` was not run (malformed,
	   stale generation, unknown exchange); field 0 the reason. */
	PRIVSEP_REFUSED,
	/* fields: user, password.  Reply: result enum vimap_auth_result,
	   field 0 the reason. */
	PRIVSEP_VERIFY,
	PRIVSEP_VERIFY_REPLY,
	/* fields: mechanism, peer.  Reply: result 0 with the exchange in
	   `handle`, or -1 with field 0 the error. */
	PRIVSEP_SASL_START,
	PRIVSEP_SASL_START_REPLY,
	/* handle; field 0 the response (PRIVSEP_NULL(0): none).  Reply:
	   result enum vimap_sasl_result; fields: out (binary), user,
	   reason, each maybe PRIVSEP_NULL. */
	PRIVSEP_SASL_STEP,
	PRIVSEP_SASL_STEP_REPLY,
	/* handle.  Reply: nothing but the header. */
	PRIVSEP_SASL_END,
	PRIVSEP_SASL_END_REPLY,
	/* field 0 the user.  Reply: result enum vimap_auth_result; field 0
	   the secret (struct vimap_scram_secret, OK only), field 1 the
	   reason. */
	PRIVSEP_SCRAM_SECRET,
	PRIVSEP_SCRAM_SECRET_REPLY,
	PRIVSEP_TYPE_COUNT
};

/* HELLO flags: what the plugin implements. */
#define PRIVSEP_HAS_VERIFY (1u << 0)
#define PRIVSEP_HAS_SASL (1u << 1)
#define PRIVSEP_HAS_SCRAM (1u << 2)
/* Field i is NULL rather than empty (its length must then be 0). */
#define PRIVSEP_NULL(i) (1u << (8 + (i)))

/* The header: 48 octets, no padding. */
struct privsep_hdr {
	uint32_t type;      /* enum privsep_msg_type */
	uint32_t flags;
	uint32_t gen;       /* the auth process generation the request is for */
	int32_t result;
	uint64_t id;        /* the request's id, echoed by its reply */
	uint64_t handle;    /* a SASL exchange of the auth process */
	uint32_t len[PRIVSEP_FIELDS];
};

/* One message.  Encoding reads `field` and `len`; decoding fills them
   with NUL-terminated copies in `buf` (field[i] NULL when absent or
   flagged PRIVSEP_NULL(i)). */
struct privsep_msg {
	struct privsep_hdr hdr;
	const void *field[PRIVSEP_FIELDS];
	size_t len[PRIVSEP_FIELDS];
	unsigned char *buf;        /* decoding only: owned, freed by privsep_msg_free */
};

/* The type's name for log lines ("VERIFY"); "?" for an unknown type. */
const char *privsep_msg_type_name(uint32_t type);

/* 1 when `type` is a request vimapd sends the auth process, else 0. */
int privsep_msg_is_request(uint32_t type);

/* Checks `msg` against its type's rules and returns a new record in
   *data_r (*size_r octets; the caller cleanses and frees it), with
   hdr.len taken from msg->len.  0, or -1 when the message would be
   refused by the other side (a field too long, a NUL in text, ...). */
int privsep_msg_encode(const struct privsep_msg *msg, unsigned char **data_r,
		       size_t *size_r, const char **error_r);

/* Decodes and checks the record data[0..size): known type, lengths that
   add up to `size`, fields within their type's limits, no NUL in text,
   result in range.  0 with *msg_r filled (release with privsep_msg_free;
   `data` may be reused at once), or -1 with a reason; on failure msg_r's
   header is still copied when `size` covers it, so that a refusal can
   name the request's id. */
int privsep_msg_decode(const void *data, size_t size, struct privsep_msg *msg_r,
		       const char **error_r);

/* Cleanses (fields may hold a password) and frees a decoded message's
   copies; the message can be decoded into again. */
void privsep_msg_free(struct privsep_msg *msg);

/* Encodes `msg` and sends it as one record on the SOCK_SEQPACKET channel
   `fd` (any thread: a record is never interleaved with another).  0, or
   -1 with a reason. */
int privsep_msg_send(int fd, const struct privsep_msg *msg, const char **error_r);

/* Receives one record from `fd` into buf[0..PRIVSEP_MSG_MAX] (the buffer
   holds PRIVSEP_MSG_MAX + 1 octets) and decodes it into *msg_r.  Returns
   1 with a message, 0 at end of file (the other side is gone), -1 on a
   receive error (*error_r; errno kept), or -2 for a malformed record
   (*error_r; msg_r's header copied when the record covers it). */
int privsep_msg_recv(int fd, unsigned char *buf, struct privsep_msg *msg_r,
		     const char **error_r);

#endif
