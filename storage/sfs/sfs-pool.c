/* sfs: the connection pool, prepared statements, transactions and errors.
 *
 * Connections are shared by every thread of the process: a call checks one
 * out for itself (the most recently used idle one, else a new one), runs
 * its transaction, and checks it back in.  At most `pool_size` idle
 * connections are kept; at most `max_connections` are open at once (a call
 * beyond that waits for one, then fails UNAVAILABLE).  A call made from
 * inside another call's callback checks out a connection of its own.
 *
 * A lost connection (server restarted, network cut) fails the statement
 * with UNAVAILABLE and is closed when checked in; the next call opens a new
 * one.  A transaction whose BEGIN fails on an idle connection that turns
 * out to be dead is retried once on a new connection, so a server restart
 * between two calls costs no call an error.  A process that fork()ed never
 * uses its parent's connections (their sockets are shared with it): it
 * forgets them without closing and opens its own.
 *
 * Statements are prepared on a connection when first used there. */
#include "autoconfig.h"
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sfs-private.h"
#include "xalloc.h"

#define MB_COLS "id, uidvalidity, uidnext, highestmodseq, first_recent_uid, special_use, " \
	"noselect, messages, unseen, size, name"
/* The \\Recent count: counted only when neither none nor all are. */
#define RECENT_EXPR "CASE WHEN m.first_recent_uid >= m.uidnext OR m.messages = 0 THEN 0 " \
	"WHEN m.first_recent_uid <= 1 THEN m.messages ELSE (SELECT count(*) FROM " \
	"vimap_messages x WHERE x.mailbox_id = m.id AND x.uid >= m.first_recent_uid) END"
#define SFS_BATCH_SQL "5000"
#define SFS_CHUNK_SQL "262144"   /* SFS_CHUNK */
_Static_assert(SFS_CHUNK == 262144u, "SFS_CHUNK_SQL must be SFS_CHUNK");
_Static_assert(VIMAP_FLAG_SEEN == 1u, "SFS_MSG_STORE tests (flags & 1)");
#define MSG_COLS "m.uid, m.flags, m.modseq, m.keywords, m.internal_date, m.tz_offset, m.size"

static const struct {
	const char *name;  /* for error texts */
	const char *sql;
} sfs_sql[SFS_STMT_COUNT] = {
	[SFS_BEGIN] = { "begin", "BEGIN" },
	[SFS_BEGIN_READ] = { "begin read",
		"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" },
	[SFS_COMMIT] = { "commit", "COMMIT" },
	[SFS_ROLLBACK] = { "rollback", "ROLLBACK" },
	[SFS_USER_GET] = { "select user",
		"SELECT id, storage_group, limit_blocks, used_blocks FROM vimap_users "
		"WHERE name = $1" },
	[SFS_USER_LOCK] = { "lock user",
		"SELECT id FROM vimap_users WHERE id = $1 FOR NO KEY UPDATE" },
	[SFS_USER_QUOTA_ADD] = { "update quota usage",
		"UPDATE vimap_users SET used_bytes = used_bytes + $2, "
		"used_blocks = used_blocks + $3 WHERE id = $1 RETURNING used_blocks, limit_blocks" },
	[SFS_USER_QUOTA_SET] = { "update quota limit",
		"UPDATE vimap_users SET limit_blocks = $2 WHERE id = $1" },
	[SFS_USER_UIDVALIDITY] = { "next uidvalidity",
		"UPDATE vimap_users SET last_uidvalidity = GREATEST(last_uidvalidity + 1, $2) "
		"WHERE id = $1 RETURNING last_uidvalidity" },
	[SFS_USER_INSERT] = { "insert user",
		"INSERT INTO vimap_users (name, limit_blocks, storage_group) VALUES ($1, $2, $3) "
		"ON CONFLICT (name) DO NOTHING RETURNING id" },
	[SFS_USER_DELETE] = { "delete user",
		"DELETE FROM vimap_users WHERE name = $1 RETURNING id" },
	[SFS_MB_GET] = { "select mailbox",
		"SELECT " MB_COLS " FROM vimap_mailboxes WHERE user_id = $1 AND name = $2" },
	[SFS_MB_GET_LOCK] = { "lock mailbox",
		"SELECT " MB_COLS " FROM vimap_mailboxes WHERE user_id = $1 AND name = $2 "
		"FOR UPDATE" },
	[SFS_MB_GET_ID] = { "select mailbox by id",
		"SELECT " MB_COLS " FROM vimap_mailboxes WHERE id = $1" },
	[SFS_MB_STATUS] = { "select mailbox status",
		"SELECT " MB_COLS ", " RECENT_EXPR " FROM vimap_mailboxes m "
		"WHERE m.user_id = $1 AND m.name = $2" },
	[SFS_MB_STATUS_ID] = { "select mailbox status by id",
		"SELECT " MB_COLS ", " RECENT_EXPR " FROM vimap_mailboxes m WHERE m.id = $1" },
	[SFS_MB_GET_ID_LOCK] = { "lock mailbox by id",
		"SELECT " MB_COLS " FROM vimap_mailboxes WHERE id = $1 FOR UPDATE" },
	[SFS_MB_LIST] = { "list mailboxes",
		"SELECT name, special_use, noselect FROM vimap_mailboxes WHERE user_id = $1 "
		"ORDER BY name" },
	[SFS_MB_INSERT] = { "insert mailbox",
		"INSERT INTO vimap_mailboxes (user_id, name, uidvalidity, special_use, noselect) "
		"VALUES ($1, $2, $3, $4, $5) RETURNING id" },
	[SFS_MB_REVIVE] = { "make mailbox selectable",
		"UPDATE vimap_mailboxes SET noselect = 0, uidvalidity = $2, uidnext = 1, "
		"highestmodseq = 1, first_recent_uid = 1, special_use = $3, messages = 0, "
		"unseen = 0, size = 0 WHERE id = $1" },
	[SFS_MB_NOSELECT] = { "make mailbox noselect",
		"UPDATE vimap_mailboxes SET noselect = 1, messages = 0, unseen = 0, size = 0 "
		"WHERE id = $1" },
	[SFS_MB_DELETE] = { "delete mailbox", "DELETE FROM vimap_mailboxes WHERE id = $1" },
	[SFS_MB_CHILD] = { "select child mailbox",
		"SELECT 1 FROM vimap_mailboxes WHERE user_id = $1 AND name >= $2 AND name < $3 "
		"LIMIT 1" },
	[SFS_MB_CHILDREN] = { "select child mailboxes",
		"SELECT id, name FROM vimap_mailboxes WHERE user_id = $1 AND name >= $2 "
		"AND name < $3 ORDER BY name" },
	[SFS_MB_RENAME] = { "rename mailbox",
		"UPDATE vimap_mailboxes SET name = $2 WHERE id = $1" },
	[SFS_MB_COUNTS] = { "update mailbox counters",
		"UPDATE vimap_mailboxes SET messages = messages + $2, unseen = unseen + $3, "
		"size = size + $4, uidnext = $5, highestmodseq = $6 WHERE id = $1" },
	[SFS_MB_CLAIM_RECENT] = { "claim recent",
		"UPDATE vimap_mailboxes SET first_recent_uid = uidnext WHERE id = $1" },
	[SFS_MSG_RECENT] = { "count recent",
		"SELECT count(*) FROM vimap_messages WHERE mailbox_id = $1 AND uid >= $2" },
	/* The body row and its first chunk in one round trip. */
	[SFS_BODY_INSERT] = { "insert body",
		"WITH b AS (INSERT INTO vimap_bodies (user_id, storage_group, size) "
		"VALUES ($1, $2, $3) RETURNING id), "
		"c AS (INSERT INTO vimap_chunks (storage_group, body_id, seq, data) "
		"SELECT $2, id, 0, $4 FROM b) SELECT id FROM b" },
	[SFS_CHUNK_INSERT] = { "insert chunk",
		"INSERT INTO vimap_chunks (storage_group, body_id, seq, data) "
		"VALUES ($1, $2, $3, $4)" },
	[SFS_MSG_INSERT] = { "insert message",
		"INSERT INTO vimap_messages (mailbox_id, uid, body_id, flags, keywords, modseq, "
		"internal_date, tz_offset, size, cache) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)" },
	/* Record queries, in batches of SFS_BATCH rows: $1 the mailbox, $2 the
	   UID to go on from, $3 what else selects. */
	[SFS_MSG_SCAN] = { "scan messages",
		"SELECT " MSG_COLS " FROM vimap_messages m WHERE m.mailbox_id = $1 "
		"AND m.uid >= $2 ORDER BY m.uid LIMIT " SFS_BATCH_SQL },
	[SFS_MSG_SCAN_CACHE] = { "scan messages with cache",
		"SELECT " MSG_COLS ", m.cache FROM vimap_messages m WHERE m.mailbox_id = $1 AND m.uid >= $2 ORDER BY m.uid "
		"LIMIT " SFS_BATCH_SQL },
	[SFS_MSG_SINCE] = { "select changed messages",
		"SELECT " MSG_COLS " FROM vimap_messages m WHERE m.mailbox_id = $1 "
		"AND m.uid >= $2 AND m.modseq > $3 ORDER BY m.uid LIMIT " SFS_BATCH_SQL },
	[SFS_MSG_SINCE_CACHE] = { "select changed messages with cache",
		"SELECT " MSG_COLS ", m.cache FROM vimap_messages m WHERE m.mailbox_id = $1 AND m.uid >= $2 AND m.modseq > $3 "
		"ORDER BY m.uid LIMIT " SFS_BATCH_SQL },
	[SFS_MSG_RANGE] = { "select messages",
		"SELECT " MSG_COLS " FROM vimap_messages m WHERE m.mailbox_id = $1 "
		"AND m.uid BETWEEN $2 AND $3 ORDER BY m.uid LIMIT " SFS_BATCH_SQL },
	[SFS_MSG_RANGE_CACHE] = { "select messages with cache",
		"SELECT " MSG_COLS ", m.cache FROM vimap_messages m WHERE m.mailbox_id = $1 AND m.uid BETWEEN $2 AND $3 "
		"ORDER BY m.uid LIMIT " SFS_BATCH_SQL },
	/* Scattered UIDs: one array instead of a query per run. */
	[SFS_MSG_LIST] = { "select listed messages",
		"SELECT " MSG_COLS " FROM vimap_messages m WHERE m.mailbox_id = $1 "
		"AND m.uid >= $2 AND m.uid = ANY ($3::bigint[]) ORDER BY m.uid "
		"LIMIT " SFS_BATCH_SQL },
	[SFS_MSG_LIST_CACHE] = { "select listed messages with cache",
		"SELECT " MSG_COLS ", m.cache FROM vimap_messages m WHERE m.mailbox_id = $1 AND m.uid >= $2 "
		"AND m.uid = ANY ($3::bigint[]) ORDER BY m.uid LIMIT " SFS_BATCH_SQL },
	/* A message's bytes in one statement (its own snapshot), chunk by
	   chunk; the first row says the size.  The chunks are looked up by
	   the body id of the message row (LATERAL ... OFFSET 0: never a join
	   over the whole chunk table, whatever the statistics say). */
	[SFS_MSG_BODY] = { "select message body",
		"SELECT m.size, c.data FROM vimap_messages m CROSS JOIN LATERAL "
		"(SELECT seq, data FROM vimap_chunks WHERE body_id = m.body_id OFFSET 0) c "
		"WHERE m.mailbox_id = $1 AND m.uid = $2 ORDER BY c.seq" },
	/* Read-ahead: the one-chunk bodies of the messages $2 (a bigint[]) of
	   mailbox $1 (uid, size, data; larger ones are left out). */
	[SFS_MSG_BODIES] = { "select message bodies",
		"SELECT m.uid, m.size, c.data FROM vimap_messages m CROSS JOIN LATERAL "
		"(SELECT data FROM vimap_chunks WHERE body_id = m.body_id ORDER BY seq LIMIT 1) c "
		"WHERE m.mailbox_id = $1 AND m.uid = ANY ($2::bigint[]) "
		"AND m.size <= " SFS_CHUNK_SQL " ORDER BY m.uid" },
	/* flags = (flags & $2) | $3; keywords by vimap_kw() unless $7 < 0.
	   UIDs: the range [$5, $6], and only those of the array $9 unless NULL
	   (scattered UIDs: one statement instead of one per run).  For the
	   unseen count, when $10 <> 0 (the call sets \Seen to $11 on every
	   message it changes), the last column counts the messages whose
	   \Seen was not $11: read in the statement's snapshot, before the
	   update; a single walk of the key each, no join, whatever the
	   statistics say (an uncorrelated sub-select: counted once). */
	[SFS_MSG_STORE] = { "store flags",
		"WITH u AS (UPDATE vimap_messages m SET flags = (m.flags & $2) | $3, modseq = $4, "
		"keywords = CASE WHEN $7 < 0 THEN m.keywords ELSE vimap_kw(m.keywords, $7, $8) END "
		"WHERE m.mailbox_id = $1 AND m.uid BETWEEN $5 AND $6 "
		"AND ($9::bigint[] IS NULL OR m.uid = ANY ($9::bigint[])) "
		"AND (m.flags <> ((m.flags & $2) | $3) OR ($7 >= 0 AND "
		"m.keywords <> vimap_kw(m.keywords, $7, $8))) "
		"RETURNING " MSG_COLS ") "
		"SELECT u.*, (SELECT count(*) FROM vimap_messages WHERE $10::int <> 0 "
		"AND mailbox_id = $1 AND uid BETWEEN $5 AND $6 "
		"AND ($9::bigint[] IS NULL OR uid = ANY ($9::bigint[])) "
		"AND (flags & 1) <> $11::int) FROM u" },
	[SFS_MSG_EXPUNGE_RANGE] = { "delete messages",
		"DELETE FROM vimap_messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3 "
		"AND ($4::bigint[] IS NULL OR uid = ANY ($4::bigint[])) "
		"AND (flags & 8) <> 0 RETURNING uid, size, flags" },
	[SFS_MSG_SOURCE_RANGE] = { "select messages to copy",
		"SELECT uid, flags, size FROM vimap_messages WHERE mailbox_id = $1 "
		"AND uid BETWEEN $2 AND $3 AND ($4::bigint[] IS NULL OR uid = ANY ($4::bigint[])) "
		"ORDER BY uid" },
	/* The messages $7 (in [$2, $3]) of mailbox $1 copied, or re-keyed for
	   a move, to mailbox $4 from UID $5 on in UID order, with modseq $6. */
	[SFS_MSG_COPY] = { "copy messages",
		"INSERT INTO vimap_messages (mailbox_id, uid, body_id, flags, keywords, modseq, "
		"internal_date, tz_offset, size, cache) SELECT $4, $5 + row_number() OVER "
		"(ORDER BY uid) - 1, body_id, flags, keywords, $6, internal_date, tz_offset, size, "
		"cache "
		"FROM vimap_messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3 "
		"AND uid = ANY ($7::bigint[])" },
	[SFS_MSG_MOVE] = { "move messages",
		"UPDATE vimap_messages m SET mailbox_id = $4, uid = $5 + o.rn - 1, modseq = $6 "
		"FROM (SELECT uid, row_number() OVER (ORDER BY uid) AS rn FROM vimap_messages "
		"WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3 AND uid = ANY ($7::bigint[])) o "
		"WHERE m.mailbox_id = $1 AND m.uid = o.uid" },
	[SFS_MSG_DELETE_ALL] = { "delete mailbox messages",
		"WITH d AS (DELETE FROM vimap_messages WHERE mailbox_id = $1 RETURNING size) "
		"SELECT coalesce(sum(size), 0), coalesce(sum((size + 4095) / 4096), 0) FROM d" },
	[SFS_EXP_INSERT] = { "insert expunged",
		"INSERT INTO vimap_expunged (mailbox_id, uid, modseq) "
		"SELECT $1, u, $2 FROM unnest($3::bigint[]) AS u "
		"ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq" },
	[SFS_EXP_SINCE] = { "select expunged",
		"SELECT uid FROM vimap_expunged WHERE mailbox_id = $1 AND modseq > $2 "
		"ORDER BY uid" },
	[SFS_EXP_DELETE_ALL] = { "delete expunged",
		"DELETE FROM vimap_expunged WHERE mailbox_id = $1" },
	[SFS_SUB_ADD] = { "insert subscription",
		"INSERT INTO vimap_subscriptions (user_id, name) VALUES ($1, $2) "
		"ON CONFLICT DO NOTHING" },
	[SFS_SUB_DEL] = { "delete subscription",
		"DELETE FROM vimap_subscriptions WHERE user_id = $1 AND name = $2" },
	[SFS_SUB_LIST] = { "list subscriptions",
		"SELECT s.name, m.special_use, m.noselect, m.id FROM vimap_subscriptions s "
		"LEFT JOIN vimap_mailboxes m ON m.user_id = s.user_id AND m.name = s.name "
		"WHERE s.user_id = $1 ORDER BY s.name" },
	[SFS_NOTIFY] = { "notify", "SELECT pg_notify('" SFS_CHANNEL "', $1)" },
	[SFS_ACL_LIST] = { "list acl",
		"SELECT identifier, rights FROM vimap_acl WHERE mailbox_id = $1 "
		"ORDER BY identifier" },
	[SFS_ACL_SET] = { "set acl",
		"INSERT INTO vimap_acl (mailbox_id, identifier, rights) VALUES ($1, $2, $3) "
		"ON CONFLICT (mailbox_id, identifier) DO UPDATE SET rights = EXCLUDED.rights" },
	[SFS_ACL_DEL] = { "delete acl",
		"DELETE FROM vimap_acl WHERE mailbox_id = $1 AND identifier = $2" },
	[SFS_ACL_DELETE_ALL] = { "delete mailbox acl",
		"DELETE FROM vimap_acl WHERE mailbox_id = $1" },
	[SFS_DLV_GET] = { "select delivery",
		"SELECT d.uid, m.uidvalidity FROM vimap_deliveries d LEFT JOIN vimap_mailboxes m "
		"ON m.id = d.mailbox_id WHERE d.user_id = $1 AND d.delivery_id = $2" },
	[SFS_DLV_ADD] = { "insert delivery",
		"INSERT INTO vimap_deliveries (user_id, delivery_id, mailbox_id, uid, at) "
		"VALUES ($1, $2, $3, $4, $5)" },
	[SFS_DLV_PRUNE] = { "forget old deliveries",
		"DELETE FROM vimap_deliveries WHERE user_id = $1 AND at < $2" },
	[SFS_LINK_ADD] = { "insert link",
		"INSERT INTO vimap_links (user_id, name, owner, owner_mailbox) "
		"VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1" },
	[SFS_LINK_DEL] = { "delete link",
		"DELETE FROM vimap_links WHERE user_id = $1 AND name = $2 RETURNING 1" },
	[SFS_LINK_LIST] = { "list links",
		"SELECT name, owner, owner_mailbox FROM vimap_links WHERE user_id = $1 "
		"ORDER BY name" },
};

/* ---- errors ---- */

/* The storage code of a SQLSTATE (NULL: no server answer at all). */
static enum vimap_storage_code sfs_sqlstate_code(const char *state)
{
	if (state == NULL)
		return VIMAP_STORAGE_ERR_UNAVAILABLE;
	if (strncmp(state, "08", 2) == 0 ||     /* connection exception */
	    strncmp(state, "53", 2) == 0 ||     /* insufficient resources */
	    strncmp(state, "57", 2) == 0 ||     /* operator intervention (shutdown) */
	    strncmp(state, "58", 2) == 0 ||     /* system error (I/O) */
	    strcmp(state, "25006") == 0)        /* read-only transaction (a standby) */
		return VIMAP_STORAGE_ERR_UNAVAILABLE;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)        /* serialization, deadlock, lock */
		return VIMAP_STORAGE_ERR_INUSE;
	if (strcmp(state, "23505") == 0)        /* unique violation: a race lost */
		return VIMAP_STORAGE_ERR_EXISTS;
	if (strcmp(state, "23503") == 0)        /* foreign key: the user went */
		return VIMAP_STORAGE_ERR_NONEXISTENT;
	if (strcmp(state, "54000") == 0 || strcmp(state, "54001") == 0)
		return VIMAP_STORAGE_ERR_LIMIT;
	return VIMAP_STORAGE_ERR_INTERNAL;
}

const char *sfs_first_line(const char *msg, char *buf, size_t size)
{
	size_t n;

	if (msg == NULL || *msg == '\0')
		return "no answer from the server";
	n = strcspn(msg, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
	return buf;
}

int sfs_db_fail(PGconn *pg, const PGresult *res, const char *what,
		struct vimap_storage_error *err)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
	enum vimap_storage_code code;
	char line[512];

	if (msg == NULL || *msg == '\0')
		msg = pg != NULL ? PQerrorMessage(pg) : NULL;
	code = pg != NULL && PQstatus(pg) == CONNECTION_BAD ? VIMAP_STORAGE_ERR_UNAVAILABLE
		: sfs_sqlstate_code(state);
	if (state != NULL && strcmp(state, "42P01") == 0)
		return sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "%s failed: %s (run 'vimap "
				"upgrade-store')", what, sfs_first_line(msg, line, sizeof(line)));
	return sfs_fail(err, code, "%s failed: %s", what, sfs_first_line(msg, line, sizeof(line)));
}

/* ---- parameters and values ---- */

void sfs_p_init(struct sfs_params *p)
{
	p->n = 0;
}

void sfs_p_int(struct sfs_params *p, int64_t v)
{
	snprintf(p->buf[p->n], sizeof(p->buf[p->n]), "%lld", (long long)v);
	p->values[p->n] = p->buf[p->n];
	p->lengths[p->n] = 0;
	p->formats[p->n] = 0;
	p->n++;
}

void sfs_p_text(struct sfs_params *p, const char *s)
{
	p->values[p->n] = s;
	p->lengths[p->n] = 0;
	p->formats[p->n] = 0;
	p->n++;
}

void sfs_p_bin(struct sfs_params *p, const void *data, size_t len)
{
	/* A NULL value would be SQL NULL: an empty bytea needs a pointer. */
	p->values[p->n] = data != NULL ? data : "";
	p->lengths[p->n] = (int)len;
	p->formats[p->n] = 1;
	p->n++;
}

int64_t sfs_get_int(const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;

	if (PQgetisnull(res, row, col))
		return 0;
	if (PQfformat(res, col) == 0)
		return strtoll(v, NULL, 10);
	switch (PQgetlength(res, row, col)) {
	case 8:
		memcpy(&u64, v, 8);
		return (int64_t)be64toh(u64);
	case 4:
		memcpy(&u32, v, 4);
		return (int32_t)be32toh(u32);
	case 2:
		memcpy(&u16, v, 2);
		return (int16_t)be16toh(u16);
	case 1:
		return (unsigned char)v[0];
	default:
		return 0;
	}
}

const char *sfs_get_text(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* ---- statements ---- */

static int sfs_prepare(struct sfs_conn *c, enum sfs_stmt id, struct vimap_storage_error *err)
{
	char name[16];
	PGresult *res;
	int ok;

	if (c->prepared[id])
		return 0;
	snprintf(name, sizeof(name), "v%d", (int)id);
	res = PQprepare(c->pg, name, sfs_sql[id].sql, 0, NULL);
	ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok) {
		char what[96];

		snprintf(what, sizeof(what), "prepare(%s)", sfs_sql[id].name);
		sfs_db_fail(c->pg, res, what, err);
	}
	PQclear(res);
	if (!ok)
		return -1;
	c->prepared[id] = 1;
	return 0;
}

PGresult *sfs_exec(struct sfs_conn *c, enum sfs_stmt id, const struct sfs_params *p,
		   int binary, struct vimap_storage_error *err)
{
	char name[16];
	PGresult *res;
	ExecStatusType status;

	if (sfs_prepare(c, id, err) < 0)
		return NULL;
	snprintf(name, sizeof(name), "v%d", (int)id);
	res = PQexecPrepared(c->pg, name, p != NULL ? p->n : 0, p != NULL ? p->values : NULL,
			     p != NULL ? p->lengths : NULL, p != NULL ? p->formats : NULL,
			     binary);
	status = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
		return res;
	sfs_db_fail(c->pg, res, sfs_sql[id].name, err);
	PQclear(res);
	return NULL;
}

int sfs_run(struct sfs_conn *c, enum sfs_stmt id, const struct sfs_params *p,
	    struct vimap_storage_error *err)
{
	PGresult *res = sfs_exec(c, id, p, 0, err);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int sfs_stream(struct sfs_conn *c, enum sfs_stmt id, const struct sfs_params *p,
	       int binary, struct vimap_storage_error *err)
{
	char name[16];

	if (sfs_prepare(c, id, err) < 0)
		return -1;
	snprintf(name, sizeof(name), "v%d", (int)id);
	if (!PQsendQueryPrepared(c->pg, name, p != NULL ? p->n : 0, p != NULL ? p->values : NULL,
				 p != NULL ? p->lengths : NULL, p != NULL ? p->formats : NULL,
				 binary))
		return sfs_db_fail(c->pg, NULL, sfs_sql[id].name, err);
	PQsetSingleRowMode(c->pg);
	return 0;
}

int sfs_next_row(struct sfs_conn *c, PGresult **res_r, struct vimap_storage_error *err)
{
	PGresult *res, *extra;
	int ret = 0;

	*res_r = NULL;
	res = PQgetResult(c->pg);
	if (res == NULL)
		return 0;
	switch (PQresultStatus(res)) {
	case PGRES_SINGLE_TUPLE:
		*res_r = res;
		return 1;
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		break;
	default:
		ret = sfs_db_fail(c->pg, res, "stream rows", err);
		break;
	}
	PQclear(res);
	/* The end: read what follows up to the NULL that frees the connection. */
	while ((extra = PQgetResult(c->pg)) != NULL)
		PQclear(extra);
	return ret;
}

int sfs_exec_sql(PGconn *pg, const char *sql, const char *what,
		 struct vimap_storage_error *err)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType status = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int ret = 0;

	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
		ret = sfs_db_fail(pg, res, what, err);
	PQclear(res);
	return ret;
}

/* ---- the pool ---- */

/* NOTICEs and WARNINGs of the server (a shutdown's, say) would go to
   stderr: the failure that follows is reported anyway. */
static void sfs_pool_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

PGconn *sfs_pool_connect(struct sfs_state *st, struct vimap_storage_error *err)
{
	PGconn *pg = PQconnectdb(st->conninfo);
	char line[512];

	if (pg == NULL) {
		sfs_fail(err, VIMAP_STORAGE_ERR_UNAVAILABLE, "PQconnectdb() failed: out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		sfs_fail(err, VIMAP_STORAGE_ERR_UNAVAILABLE, "connect to the filepool failed: %s",
			 sfs_first_line(PQerrorMessage(pg), line, sizeof(line)));
		PQfinish(pg);
		return NULL;
	}
	/* Quiet NOTICEs (they would go to stderr); a statement that hangs
	   on a lock gives up instead of holding a worker for ever.  Our
	   statements walk primary keys: with the default random_page_cost
	   (4, for spinning disks) and a table not analyzed yet (a mailbox
	   just filled), the planner reads a whole mailbox and sorts it for
	   each batch of SFS_BATCH records instead of walking the key. */
	PQsetNoticeProcessor(pg, sfs_pool_notice, NULL);
	if (sfs_exec_sql(pg, "SET client_min_messages = warning; SET lock_timeout = '30s'; "
			 "SET idle_in_transaction_session_timeout = '10min'; "
			 "SET random_page_cost = 1.1", "set-up", err) < 0) {
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

static void sfs_conn_close(struct sfs_conn *c)
{
	if (c == NULL)
		return;
	if (c->pg != NULL)
		PQfinish(c->pg);
	free(c);
}

/* After fork(): the parent's connections are not ours (pool lock held). */
static void sfs_pool_forget_parent(struct sfs_state *st)
{
	struct sfs_conn *c, *next;

	for (c = st->idle; c != NULL; c = next) {
		next = c->next;
		/* No PQfinish: its Terminate would end the parent's session.
		   Our copy of the socket is closed; the PGconn is left. */
		if (PQsocket(c->pg) >= 0)
			close(PQsocket(c->pg));
		free(c);
	}
	st->idle = NULL;
	st->nidle = 0;
	st->open = 0;
	st->pid = getpid();
}

/* Takes an idle connection or a slot for a new one (pool lock held):
   1 with *conn_r, 0 a slot taken, -1 timed out. */
static int sfs_pool_take(struct sfs_state *st, struct sfs_conn **conn_r)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SFS_WAIT_MS / 1000;
	for (;;) {
		if (st->idle != NULL) {
			*conn_r = st->idle;
			st->idle = st->idle->next;
			st->nidle--;
			(*conn_r)->next = NULL;
			return 1;
		}
		if (st->open < st->max_conns) {
			st->open++;
			return 0;
		}
		if (pthread_cond_timedwait(&st->cond, &st->lock, &until) == ETIMEDOUT)
			return -1;
	}
}

int sfs_pool_get(struct sfs_state *st, struct sfs_conn **conn_r,
		 struct vimap_storage_error *err)
{
	struct sfs_conn *c = NULL;
	PGconn *pg;
	int got;

	pthread_mutex_lock(&st->lock);
	if (st->pid != getpid())
		sfs_pool_forget_parent(st);
	got = sfs_pool_take(st, &c);
	pthread_mutex_unlock(&st->lock);
	if (got < 0)
		return sfs_fail(err, VIMAP_STORAGE_ERR_UNAVAILABLE, "no database connection free "
				"after %d ms (max_connections %u)", SFS_WAIT_MS, st->max_conns);
	if (got > 0) {
		c->reused = 1;
		*conn_r = c;
		return 0;
	}
	if ((pg = sfs_pool_connect(st, err)) == NULL) {
		pthread_mutex_lock(&st->lock);
		st->open--;
		pthread_cond_signal(&st->cond);
		pthread_mutex_unlock(&st->lock);
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->pg = pg;
	*conn_r = c;
	return 0;
}

void sfs_pool_put(struct sfs_state *st, struct sfs_conn **connp)
{
	struct sfs_conn *c = *connp, *drop = NULL;

	*connp = NULL;
	if (c == NULL)
		return;
	if (c->in_txn && PQstatus(c->pg) == CONNECTION_OK) {
		PGresult *res = PQexec(c->pg, "ROLLBACK");

		PQclear(res);
	}
	c->in_txn = 0;
	c->reused = 0;
	pthread_mutex_lock(&st->lock);
	if (st->pid != getpid()) {
		/* Checked out before a fork, put back in the child: the
		   parent's session; only our copy of the socket is closed. */
		pthread_mutex_unlock(&st->lock);
		if (PQsocket(c->pg) >= 0)
			close(PQsocket(c->pg));
		free(c);
		return;
	}
	if (PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) != PQTRANS_IDLE ||
	    st->nidle >= st->pool_size) {
		drop = c;
		st->open--;
	} else {
		c->next = st->idle;
		st->idle = c;
		st->nidle++;
	}
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
	sfs_conn_close(drop);
}

void sfs_pool_flush(struct sfs_state *st)
{
	struct sfs_conn *c, *next;

	pthread_mutex_lock(&st->lock);
	if (st->pid != getpid())
		sfs_pool_forget_parent(st);
	c = st->idle;
	st->idle = NULL;
	st->open -= st->nidle;
	st->nidle = 0;
	pthread_mutex_unlock(&st->lock);
	for (; c != NULL; c = next) {
		next = c->next;
		sfs_conn_close(c);
	}
}

/* ---- transactions ---- */

int sfs_begin(struct sfs_state *st, int read, struct sfs_conn **conn_r,
	      struct vimap_storage_error *err)
{
	enum sfs_stmt id = read ? SFS_BEGIN_READ : SFS_BEGIN;
	struct sfs_conn *c;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (sfs_pool_get(st, &c, err) < 0)
			return -1;
		if (sfs_run(c, id, NULL, err) == 0) {
			c->in_txn = 1;
			*conn_r = c;
			return 0;
		}
		if (!c->reused || PQstatus(c->pg) == CONNECTION_OK) {
			sfs_pool_put(st, &c);
			return -1;
		}
		/* A connection that died while idle: the server went away
		   since, so the other idle ones are dead too. */
		sfs_pool_put(st, &c);
		sfs_pool_flush(st);
	}
	return -1;
}

int sfs_query(struct sfs_state *st, struct sfs_conn **conn_r, enum sfs_stmt id,
	      const struct sfs_params *p, int binary, PGresult **res_r,
	      struct vimap_storage_error *err)
{
	struct sfs_conn *c;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (sfs_pool_get(st, &c, err) < 0)
			return -1;
		if ((*res_r = sfs_exec(c, id, p, binary, err)) != NULL) {
			*conn_r = c;
			return 0;
		}
		if (!c->reused || PQstatus(c->pg) == CONNECTION_OK) {
			sfs_pool_put(st, &c);
			return -1;
		}
		sfs_pool_put(st, &c);
		sfs_pool_flush(st);
	}
	return -1;
}

void sfs_p_set_int(struct sfs_params *p, int idx, int64_t v)
{
	snprintf(p->buf[idx], sizeof(p->buf[idx]), "%lld", (long long)v);
	p->values[idx] = p->buf[idx];
}

int sfs_commit(struct sfs_state *st, struct sfs_conn **connp, struct vimap_storage_error *err)
{
	int ret = sfs_run(*connp, SFS_COMMIT, NULL, err);

	if (ret == 0)
		(*connp)->in_txn = 0;
	sfs_pool_put(st, connp);
	return ret;
}

void sfs_rollback(struct sfs_state *st, struct sfs_conn **connp)
{
	sfs_pool_put(st, connp);
}

int sfs_end(struct sfs_state *st, struct sfs_conn **connp, int ret,
	    struct vimap_storage_error *err)
{
	if (ret == 0)
		return sfs_commit(st, connp, err);
	sfs_rollback(st, connp);
	return -1;
}
