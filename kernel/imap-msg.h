/* One message as FETCH and SEARCH see it: its index record, its parse blob
 * (kernel/mail/message-cache.h) and, only when asked for, its bytes.
 * Filled by the session code from the storage plugin; read by imap-fetch.c
 * and imap-search.c, which never call the storage plugin themselves. */
#ifndef VIMAP_IMAP_MSG_H
#define VIMAP_IMAP_MSG_H

#include <stddef.h>
#include <stdint.h>

/* What a FETCH or SEARCH needs of each message, so the session loads only
   that: the index record is always there. */
#define IMAP_MSG_NEED_CACHE 0x01u  /* the parse blob: envelope, structure, headers' offsets */
#define IMAP_MSG_NEED_DATA  0x02u  /* the message bytes */

struct imap_msg {
	uint32_t seq;            /* sequence number in the session's view */
	uint32_t uid;
	uint32_t flags;          /* VIMAP_FLAG_* (<vimap/storage.h>) */
	int recent;              /* \Recent in this session */
	const char *keywords;    /* space-separated, "" for none */
	uint64_t modseq;
	int64_t internal_date;   /* seconds since the epoch */
	int32_t tz_offset;       /* minutes east of UTC */
	uint64_t size;           /* RFC822.SIZE */
	const void *cache;       /* parse blob, or NULL when not loaded */
	size_t cache_size;
	const char *data;        /* message bytes, or NULL when not loaded */
	size_t data_size;
};

#endif
