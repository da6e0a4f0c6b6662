/* localfs: the SQLite index of one user.  The schema (format_version 2):
 *
 *   meta          key/value: format_version, instance (random, per index),
 *                 next_file_id (file ids are reserved from it in blocks),
 *                 last_uidvalidity (UIDVALIDITY only grows per user)
 *   quota         one row: limit in blocks, usage in bytes and blocks,
 *                 storage group
 *   mailboxes     one row per mailbox or \Noselect node, with its counters
 *                 (messages, unseen, size) kept in step by every write
 *   messages      one row per message, clustered by (mailbox_id, uid) so a
 *                 mailbox's records are one sequential range
 *   cache         the kernel's parse blob of each message, by file id: kept
 *                 out of `messages` so a scan that does not want the blob
 *                 never reads it (a blob inline would make every scan read
 *                 the whole cache)
 *   garbage       file ids of deleted messages whose file and cache blob
 *                 are still to be removed: a trigger fills it in the
 *                 transaction that deletes the row, localfs-gc.c empties it
 *                 after the commit (so an EXPUNGE does not pay for the
 *                 scattered cache pages and the unlinks, and a crash
 *                 before the clean-up leaves nothing behind for good)
 *   expunged      (mailbox_id, uid, modseq) of each expunge, for QRESYNC
 *   subscriptions the subscribed names
 *   acl           (format 2) RFC 4314 rights others have on a mailbox:
 *                 by mailbox id, so they follow a rename and go with it
 *   links         (format 2) SHAREFOLDER entries: a name in this user's
 *                 list that stands for another user's mailbox
 *   deliveries    (format 2) ids of deliveries made with append_once, so
 *                 a source that delivers again after a crash makes no
 *                 second copy
 *
 * A statement is prepared on a connection when first used; when the
 * connection goes back to the pool idle, only the statements of frequent
 * calls stay prepared (localfs_db_hot) and its page cache is given back. */
#include "autoconfig.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "localfs-private.h"
#include "strbuf.h"
#include "xalloc.h"

/* Column lists shared by the record queries (localfs-box.c reads them in
   this order: uid, flags, modseq, keywords, internal_date, tz_offset, size
   [, cache]). */
#define MSG_COLS "m.uid, m.flags, m.modseq, m.keywords, m.internal_date, m.tz_offset, m.size"
#define RET_COLS "uid, flags, modseq, keywords, internal_date, tz_offset, size"
#define MB_COLS "id, uidvalidity, uidnext, highestmodseq, first_recent_uid, special_use, " \
	"noselect, messages, unseen, size"

static const struct {
	const char *name;  /* for error texts */
	const char *sql;
} localfs_sql[LOCALFS_STMT_COUNT] = {
	[LOCALFS_BEGIN] = { "begin", "BEGIN" },
	[LOCALFS_BEGIN_IMMEDIATE] = { "begin immediate", "BEGIN IMMEDIATE" },
	[LOCALFS_COMMIT] = { "commit", "COMMIT" },
	[LOCALFS_ROLLBACK] = { "rollback", "ROLLBACK" },
	[LOCALFS_SAVEPOINT] = { "savepoint", "SAVEPOINT req" },
	[LOCALFS_RELEASE] = { "release savepoint", "RELEASE req" },
	[LOCALFS_ROLLBACK_TO] = { "rollback to savepoint", "ROLLBACK TO req" },
	[LOCALFS_META_GET] = { "select meta", "SELECT value FROM meta WHERE key = ?1" },
	[LOCALFS_META_SET] = { "update meta", "UPDATE meta SET value = ?2 WHERE key = ?1" },
	[LOCALFS_META_RESERVE] = { "reserve file ids",
		"UPDATE meta SET value = value + ?2 WHERE key = ?1 RETURNING value" },
	[LOCALFS_QUOTA_GET] = { "select quota",
		"SELECT limit_blocks, used_bytes, used_blocks, storage_group FROM quota" },
	[LOCALFS_QUOTA_ADD] = { "update quota usage",
		"UPDATE quota SET used_bytes = used_bytes + ?1, used_blocks = used_blocks + ?2" },
	[LOCALFS_QUOTA_SET] = { "update quota limit", "UPDATE quota SET limit_blocks = ?1" },
	[LOCALFS_MB_GET] = { "select mailbox",
		"SELECT " MB_COLS " FROM mailboxes WHERE name = ?1" },
	[LOCALFS_MB_GET_ID] = { "select mailbox by id",
		"SELECT " MB_COLS " FROM mailboxes WHERE id = ?1" },
	[LOCALFS_MB_LIST] = { "list mailboxes",
		"SELECT name, special_use, noselect FROM mailboxes ORDER BY name" },
	[LOCALFS_MB_INSERT] = { "insert mailbox",
		"INSERT INTO mailboxes (name, uidvalidity, uidnext, highestmodseq, "
		"first_recent_uid, special_use, noselect) VALUES (?1, ?2, 1, 1, 1, ?3, ?4)" },
	[LOCALFS_MB_REVIVE] = { "make mailbox selectable",
		"UPDATE mailboxes SET noselect = 0, uidvalidity = ?2, uidnext = 1, "
		"highestmodseq = 1, first_recent_uid = 1, special_use = ?3, messages = 0, "
		"unseen = 0, size = 0 WHERE id = ?1" },
	[LOCALFS_MB_NOSELECT] = { "make mailbox noselect",
		"UPDATE mailboxes SET noselect = 1, messages = 0, unseen = 0, size = 0 "
		"WHERE id = ?1" },
	[LOCALFS_MB_DELETE] = { "delete mailbox", "DELETE FROM mailboxes WHERE id = ?1" },
	[LOCALFS_MB_CHILD] = { "select child mailbox",
		"SELECT 1 FROM mailboxes WHERE name >= ?1 AND name < ?2 LIMIT 1" },
	[LOCALFS_MB_CHILDREN] = { "select child mailboxes",
		"SELECT id, name FROM mailboxes WHERE name >= ?1 AND name < ?2" },
	[LOCALFS_MB_RENAME] = { "rename mailbox", "UPDATE mailboxes SET name = ?2 WHERE id = ?1" },
	[LOCALFS_MB_COUNTS] = { "update mailbox counters",
		"UPDATE mailboxes SET messages = messages + ?2, unseen = unseen + ?3, "
		"size = size + ?4, uidnext = ?5, highestmodseq = ?6 WHERE id = ?1" },
	[LOCALFS_MB_CLAIM_RECENT] = { "claim recent",
		"UPDATE mailboxes SET first_recent_uid = uidnext WHERE id = ?1" },
	/* A range of the primary key: costs the recent messages only. */
	[LOCALFS_MSG_RECENT] = { "count recent",
		"SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND uid >= ?2" },
	[LOCALFS_MSG_INSERT] = { "insert message",
		"INSERT INTO messages (mailbox_id, uid, file_id, flags, keywords, modseq, "
		"internal_date, tz_offset, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)" },
	[LOCALFS_CACHE_INSERT] = { "insert cache",
		"INSERT OR REPLACE INTO cache (file_id, data) VALUES (?1, ?2)" },
	[LOCALFS_CACHE_COPY] = { "copy cache",
		"INSERT OR REPLACE INTO cache (file_id, data) "
		"SELECT ?2, data FROM cache WHERE file_id = ?1" },
	/* `+m.modseq` keeps the planner on the clustered scan: since 0 wants
	   every row in UID order, which the modseq index would have to sort. */
	[LOCALFS_MSG_SCAN] = { "scan messages",
		"SELECT " MSG_COLS " FROM messages m WHERE m.mailbox_id = ?1 AND +m.modseq > ?2 "
		"ORDER BY m.uid" },
	[LOCALFS_MSG_SCAN_CACHE] = { "scan messages with cache",
		"SELECT " MSG_COLS ", c.data FROM messages m LEFT JOIN cache c "
		"ON c.file_id = m.file_id WHERE m.mailbox_id = ?1 AND +m.modseq > ?2 "
		"ORDER BY m.uid" },
	[LOCALFS_MSG_SINCE] = { "select changed messages",
		"SELECT " MSG_COLS " FROM messages m INDEXED BY messages_modseq "
		"WHERE m.mailbox_id = ?1 AND m.modseq > ?2 ORDER BY m.uid" },
	[LOCALFS_MSG_SINCE_CACHE] = { "select changed messages with cache",
		"SELECT " MSG_COLS ", c.data FROM messages m INDEXED BY messages_modseq "
		"LEFT JOIN cache c ON c.file_id = m.file_id "
		"WHERE m.mailbox_id = ?1 AND m.modseq > ?2 ORDER BY m.uid" },
	[LOCALFS_MSG_RANGE] = { "select messages",
		"SELECT " MSG_COLS " FROM messages m WHERE m.mailbox_id = ?1 "
		"AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid" },
	[LOCALFS_MSG_RANGE_CACHE] = { "select messages with cache",
		"SELECT " MSG_COLS ", c.data FROM messages m LEFT JOIN cache c "
		"ON c.file_id = m.file_id WHERE m.mailbox_id = ?1 "
		"AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid" },
	[LOCALFS_MSG_FILE] = { "select message file",
		"SELECT file_id, size FROM messages WHERE mailbox_id = ?1 AND uid = ?2" },
	/* flags = (flags & ?2) | ?3: REPLACE keeps none, ADD keeps all,
	   REMOVE keeps the others; only rows that change are touched. */
	[LOCALFS_MSG_STORE_FLAGS] = { "store flags",
		"UPDATE messages SET flags = ((flags & ?2) | ?3), modseq = ?4 "
		"WHERE mailbox_id = ?1 AND uid BETWEEN ?5 AND ?6 AND flags != ((flags & ?2) | ?3) "
		"RETURNING " RET_COLS },
	[LOCALFS_MSG_STORE_KW] = { "store flags and keywords",
		"UPDATE messages SET flags = ((flags & ?2) | ?3), modseq = ?4, "
		"keywords = localfs_kw(keywords, ?7, ?8) "
		"WHERE mailbox_id = ?1 AND uid BETWEEN ?5 AND ?6 AND (flags != ((flags & ?2) | ?3) "
		"OR keywords != localfs_kw(keywords, ?7, ?8)) RETURNING " RET_COLS },
	[LOCALFS_MSG_UNSEEN_RANGE] = { "count unseen",
		"SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 "
		"AND (flags & 1) = 0" },
	[LOCALFS_MSG_EXPUNGE_RANGE] = { "delete messages",
		"DELETE FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 "
		"AND (flags & 8) != 0 RETURNING uid, size, flags" },
	[LOCALFS_MSG_SOURCE_RANGE] = { "select messages to copy",
		"SELECT uid, file_id, flags, keywords, internal_date, tz_offset, size "
		"FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid" },
	[LOCALFS_MSG_MOVE] = { "move message",
		"UPDATE messages SET mailbox_id = ?3, uid = ?4, modseq = ?5 "
		"WHERE mailbox_id = ?1 AND uid = ?2" },
	[LOCALFS_MSG_DELETE_ALL] = { "delete mailbox messages",
		"DELETE FROM messages WHERE mailbox_id = ?1 RETURNING size" },
	[LOCALFS_MSG_UIDS] = { "select message uids",
		"SELECT uid, flags, size FROM messages WHERE mailbox_id = ?1 ORDER BY uid" },
	[LOCALFS_EXP_INSERT] = { "insert expunged",
		"INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)" },
	[LOCALFS_EXP_SINCE] = { "select expunged",
		"SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid" },
	[LOCALFS_EXP_DELETE_ALL] = { "delete expunged",
		"DELETE FROM expunged WHERE mailbox_id = ?1" },
	[LOCALFS_SUB_ADD] = { "insert subscription",
		"INSERT OR IGNORE INTO subscriptions (name) VALUES (?1)" },
	[LOCALFS_SUB_DEL] = { "delete subscription",
		"DELETE FROM subscriptions WHERE name = ?1" },
	[LOCALFS_GC_ANY] = { "select garbage", "SELECT 1 FROM garbage LIMIT 1" },
	[LOCALFS_GC_LIST] = { "list garbage",
		"SELECT file_id FROM garbage ORDER BY file_id LIMIT ?1" },
	[LOCALFS_GC_CACHE_DEL] = { "delete cache", "DELETE FROM cache WHERE file_id = ?1" },
	[LOCALFS_GC_DEL] = { "delete garbage", "DELETE FROM garbage WHERE file_id = ?1" },
	[LOCALFS_SUB_LIST] = { "list subscriptions",
		"SELECT s.name, m.special_use, m.noselect, m.id FROM subscriptions s "
		"LEFT JOIN mailboxes m ON m.name = s.name ORDER BY s.name" },
	[LOCALFS_ACL_LIST] = { "list acl",
		"SELECT identifier, rights FROM acl WHERE mailbox_id = ?1 ORDER BY identifier" },
	[LOCALFS_ACL_SET] = { "set acl",
		"INSERT OR REPLACE INTO acl (mailbox_id, identifier, rights) VALUES (?1, ?2, ?3)" },
	[LOCALFS_ACL_DEL] = { "delete acl",
		"DELETE FROM acl WHERE mailbox_id = ?1 AND identifier = ?2" },
	[LOCALFS_LINK_LIST] = { "list links",
		"SELECT name, owner, owner_mailbox FROM links ORDER BY name" },
	[LOCALFS_LINK_SET] = { "insert link",
		"INSERT INTO links (name, owner, owner_mailbox) VALUES (?1, ?2, ?3)" },
	[LOCALFS_LINK_DEL] = { "delete link", "DELETE FROM links WHERE name = ?1" },
	[LOCALFS_DLV_GET] = { "select delivery", "SELECT uid FROM deliveries WHERE id = ?1" },
	[LOCALFS_DLV_ADD] = { "insert delivery",
		"INSERT INTO deliveries (id, mailbox_id, uid, at) VALUES (?1, ?2, ?3, ?4)" },
	[LOCALFS_DLV_PRUNE] = { "prune deliveries", "DELETE FROM deliveries WHERE at < ?1" },
};

/* The statements an idle connection keeps prepared: those of the calls a
   session makes all the time (SELECT, STATUS, sync, FETCH, APPEND, STORE,
   EXPUNGE).  The others (mailbox management, COPY, clean-up, ...) are
   prepared again when next needed, which costs microseconds, while each
   kept statement costs its connection a few KB for as long as it is
   open. */
static const unsigned char localfs_db_hot[LOCALFS_STMT_COUNT] = {
	[LOCALFS_BEGIN] = 1, [LOCALFS_BEGIN_IMMEDIATE] = 1, [LOCALFS_COMMIT] = 1,
	[LOCALFS_ROLLBACK] = 1, [LOCALFS_SAVEPOINT] = 1, [LOCALFS_RELEASE] = 1,
	[LOCALFS_ROLLBACK_TO] = 1, [LOCALFS_QUOTA_GET] = 1, [LOCALFS_QUOTA_ADD] = 1,
	[LOCALFS_MB_GET] = 1, [LOCALFS_MB_GET_ID] = 1, [LOCALFS_MB_COUNTS] = 1,
	[LOCALFS_MB_CLAIM_RECENT] = 1, [LOCALFS_MSG_RECENT] = 1, [LOCALFS_MSG_INSERT] = 1,
	[LOCALFS_CACHE_INSERT] = 1, [LOCALFS_MSG_SCAN] = 1, [LOCALFS_MSG_SINCE] = 1,
	[LOCALFS_MSG_RANGE] = 1, [LOCALFS_MSG_RANGE_CACHE] = 1, [LOCALFS_MSG_FILE] = 1,
	[LOCALFS_MSG_STORE_FLAGS] = 1, [LOCALFS_MSG_UNSEEN_RANGE] = 1,
	[LOCALFS_MSG_EXPUNGE_RANGE] = 1, [LOCALFS_EXP_INSERT] = 1, [LOCALFS_EXP_SINCE] = 1,
};

/* What format 2 added (sharing); localfs-format.c adds it to a format 1
   index. */
const char localfs_schema_2[] = LOCALFS_SCHEMA_2;

static const char localfs_schema[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE quota (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" limit_blocks INTEGER NOT NULL, used_bytes INTEGER NOT NULL DEFAULT 0,"
	" used_blocks INTEGER NOT NULL DEFAULT 0, storage_group INTEGER NOT NULL);"
	"CREATE TABLE mailboxes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL,"
	" highestmodseq INTEGER NOT NULL, first_recent_uid INTEGER NOT NULL,"
	" special_use INTEGER NOT NULL DEFAULT 0, noselect INTEGER NOT NULL DEFAULT 0,"
	" messages INTEGER NOT NULL DEFAULT 0, unseen INTEGER NOT NULL DEFAULT 0,"
	" size INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE messages (mailbox_id INTEGER NOT NULL"
	" REFERENCES mailboxes (id) ON DELETE CASCADE, uid INTEGER NOT NULL,"
	" file_id INTEGER NOT NULL, flags INTEGER NOT NULL, keywords TEXT NOT NULL,"
	" modseq INTEGER NOT NULL, internal_date INTEGER NOT NULL,"
	" tz_offset INTEGER NOT NULL, size INTEGER NOT NULL,"
	" PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);"
	"CREATE TABLE cache (file_id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
	"CREATE TABLE garbage (file_id INTEGER PRIMARY KEY);"
	"CREATE TRIGGER messages_garbage AFTER DELETE ON messages BEGIN"
	" INSERT OR IGNORE INTO garbage (file_id) VALUES (old.file_id); END;"
	"CREATE TABLE expunged (mailbox_id INTEGER NOT NULL"
	" REFERENCES mailboxes (id) ON DELETE CASCADE, uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL, PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE TABLE subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID;"
	LOCALFS_SCHEMA_2;

const char *localfs_db_stmt_name(enum localfs_stmt id)
{
	return localfs_sql[id].name;
}

static enum vimap_storage_code localfs_db_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return VIMAP_STORAGE_ERR_INUSE;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_NOMEM:
	case SQLITE_READONLY:
	case SQLITE_PROTOCOL:
	case SQLITE_NOLFS:
		return VIMAP_STORAGE_ERR_UNAVAILABLE;
	default:
		return VIMAP_STORAGE_ERR_INTERNAL;
	}
}

int localfs_db_fail(struct localfs_db *db, int rc, const char *call,
		    const char *what, struct vimap_storage_error *err)
{
	const char *reason = db != NULL && db->db != NULL ? sqlite3_errmsg(db->db)
							   : sqlite3_errstr(rc);

	return localfs_fail(err, localfs_db_code(rc), "%s(%s) failed: %s", call, what, reason);
}

/* Splits `s` into words; calls fn for each (not NUL-terminated). */
static void localfs_db_words(const char *s, void (*fn)(void *ctx, const char *w, size_t n),
			     void *ctx)
{
	while (s != NULL && *s != '\0') {
		size_t n;

		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (n > 0)
			fn(ctx, s, n);
		s += n;
	}
}

struct localfs_kw_ctx {
	struct strbuf out;
	const char *filter;  /* words to add or remove */
	int mode;
};

/* 1 when word w (n bytes) is in the space-separated list. */
static int localfs_db_has_word(const char *list, const char *w, size_t n)
{
	while (list != NULL && *list != '\0') {
		size_t len;

		while (*list == ' ')
			list++;
		len = strcspn(list, " ");
		if (len == n && strncasecmp(list, w, n) == 0)
			return 1;
		list += len;
	}
	return 0;
}

static void localfs_db_kw_add(void *ctx, const char *w, size_t n)
{
	struct localfs_kw_ctx *k = ctx;

	if (k->mode == VIMAP_STORE_REMOVE && localfs_db_has_word(k->filter, w, n))
		return;
	if (localfs_db_has_word(k->out.data, w, n))
		return;
	if (k->out.len > 0)
		strbuf_appendc(&k->out, ' ');
	strbuf_append(&k->out, w, n);
}

char *localfs_db_keywords(const char *old, int mode, const char *arg)
{
	struct localfs_kw_ctx k = { STRBUF_INIT, arg, mode };

	if (mode != VIMAP_STORE_REPLACE)
		localfs_db_words(old, localfs_db_kw_add, &k);
	if (mode != VIMAP_STORE_REMOVE) {
		k.mode = VIMAP_STORE_ADD;
		localfs_db_words(arg, localfs_db_kw_add, &k);
	}
	if (k.out.data == NULL)
		return xstrdup("");
	return strbuf_steal(&k.out);
}

/* SQL function localfs_kw(old, mode, arg): the keywords after a STORE. */
static void localfs_db_kw_sql(sqlite3_context *sctx, int argc, sqlite3_value **argv)
{
	const char *old = (const char *)sqlite3_value_text(argv[0]);
	int mode = sqlite3_value_int(argv[1]);
	const char *arg = (const char *)sqlite3_value_text(argv[2]);
	char *res = localfs_db_keywords(old != NULL ? old : "", mode, arg != NULL ? arg : "");

	sqlite3_result_text(sctx, res, -1, free);
}

static int localfs_db_pragmas(struct localfs_db *db, int fsync_on,
			      struct vimap_storage_error *err)
{
	char sql[256];
	char *msg = NULL;
	int rc;

	/* mmap makes scans of a large mailbox cheaper: pages are read in
	   place instead of copied into SQLite's cache. */
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"
		 "PRAGMA synchronous = %s; PRAGMA temp_store = MEMORY;"
		 "PRAGMA cache_size = -2048; PRAGMA mmap_size = 268435456;",
		 fsync_on ? "FULL" : "NORMAL");
	rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		localfs_fail(err, localfs_db_code(rc), "sqlite3_exec(pragmas) failed: %s",
			     msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int localfs_db_open(struct localfs_db *db, const char *path, int create,
		    int fsync_on, struct localfs_shared *shared,
		    struct vimap_storage_error *err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;

	memset(db, 0, sizeof(*db));
	db->shared = shared;
	rc = sqlite3_open_v2(path, &db->db, flags, NULL);
	if (rc != SQLITE_OK) {
		localfs_fail(err, rc == SQLITE_CANTOPEN && !create ? VIMAP_STORAGE_ERR_NONEXISTENT
			     : localfs_db_code(rc), "sqlite3_open(%s) failed: %s", path,
			     db->db != NULL ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
		localfs_db_close(db);
		return -1;
	}
	sqlite3_extended_result_codes(db->db, 1);
	sqlite3_busy_timeout(db->db, LOCALFS_BUSY_MS);
	rc = sqlite3_create_function(db->db, "localfs_kw", 3,
				     SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				     localfs_db_kw_sql, NULL, NULL);
	if (rc != SQLITE_OK) {
		localfs_db_fail(db, rc, "sqlite3_create_function", "localfs_kw", err);
		localfs_db_close(db);
		return -1;
	}
	if (localfs_db_pragmas(db, fsync_on, err) < 0) {
		localfs_db_close(db);
		return -1;
	}
	return 0;
}

void localfs_db_close(struct localfs_db *db)
{
	unsigned i;

	for (i = 0; i < LOCALFS_STMT_COUNT; i++) {
		if (db->stmts[i] != NULL)
			sqlite3_finalize(db->stmts[i]);
		db->stmts[i] = NULL;
	}
	if (db->write_locked && db->shared != NULL)
		pthread_mutex_unlock(&db->shared->write_lock);
	db->write_locked = 0;
	if (db->db != NULL)
		sqlite3_close(db->db);
	db->db = NULL;
}

void localfs_db_trim(struct localfs_db *db)
{
	unsigned i;

	for (i = 0; i < LOCALFS_STMT_COUNT; i++) {
		if (db->stmts[i] != NULL && !localfs_db_hot[i]) {
			sqlite3_finalize(db->stmts[i]);
			db->stmts[i] = NULL;
		}
	}
	sqlite3_db_release_memory(db->db);
}

sqlite3_stmt *localfs_db_stmt(struct localfs_db *db, enum localfs_stmt id,
			      struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = db->stmts[id];
	int rc;

	if (stmt != NULL) {
		sqlite3_reset(stmt);
		return stmt;
	}
	rc = sqlite3_prepare_v3(db->db, localfs_sql[id].sql, -1, SQLITE_PREPARE_PERSISTENT,
				&stmt, NULL);
	if (rc != SQLITE_OK) {
		localfs_db_fail(db, rc, "sqlite3_prepare", localfs_sql[id].name, err);
		return NULL;
	}
	db->stmts[id] = stmt;
	return stmt;
}

int localfs_db_exec(struct localfs_db *db, sqlite3_stmt *stmt,
		    enum localfs_stmt id, struct vimap_storage_error *err)
{
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		localfs_db_fail(db, rc, "sqlite3_step", localfs_sql[id].name, err);
		sqlite3_reset(stmt);
		return -1;
	}
	sqlite3_reset(stmt);
	return 0;
}

int localfs_db_run(struct localfs_db *db, enum localfs_stmt id,
		   struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, id, err);

	if (stmt == NULL)
		return -1;
	return localfs_db_exec(db, stmt, id, err);
}

int localfs_db_begin_write(struct localfs_db *db, struct vimap_storage_error *err)
{
	if (db->shared != NULL && !db->write_locked)
		pthread_mutex_lock(&db->shared->write_lock);
	db->write_locked = 1;
	if (localfs_db_run(db, LOCALFS_BEGIN_IMMEDIATE, err) < 0) {
		if (db->shared != NULL)
			pthread_mutex_unlock(&db->shared->write_lock);
		db->write_locked = 0;
		return -1;
	}
	return 0;
}

static void localfs_db_unlock(struct localfs_db *db)
{
	if (db->write_locked && db->shared != NULL)
		pthread_mutex_unlock(&db->shared->write_lock);
	db->write_locked = 0;
}

int localfs_db_commit_write(struct localfs_db *db, struct vimap_storage_error *err)
{
	int ret = localfs_db_run(db, LOCALFS_COMMIT, err);

	if (ret < 0 && !sqlite3_get_autocommit(db->db))
		localfs_db_run(db, LOCALFS_ROLLBACK, NULL);
	localfs_db_unlock(db);
	return ret;
}

void localfs_db_rollback_write(struct localfs_db *db)
{
	if (!sqlite3_get_autocommit(db->db))
		localfs_db_run(db, LOCALFS_ROLLBACK, NULL);
	localfs_db_unlock(db);
}

int localfs_db_begin_read(struct localfs_db *db, struct vimap_storage_error *err)
{
	return localfs_db_run(db, LOCALFS_BEGIN, err);
}

void localfs_db_end_read(struct localfs_db *db)
{
	if (!sqlite3_get_autocommit(db->db))
		localfs_db_run(db, LOCALFS_COMMIT, NULL);
}

int localfs_db_meta_get(struct localfs_db *db, const char *key, int64_t *value_r,
			struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_META_GET, err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*value_r = sqlite3_column_int64(stmt, 0);
		sqlite3_reset(stmt);
		return 0;
	}
	if (rc != SQLITE_DONE)
		localfs_db_fail(db, rc, "sqlite3_step", "select meta", err);
	else
		localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
			     "index: meta key '%s' is missing", key);
	sqlite3_reset(stmt);
	return -1;
}

int localfs_db_meta_set(struct localfs_db *db, const char *key, int64_t value,
			struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_META_SET, err);

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, value);
	return localfs_db_exec(db, stmt, LOCALFS_META_SET, err);
}

static int localfs_db_exec_sql(struct localfs_db *db, const char *sql, const char *what,
			       struct vimap_storage_error *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg);

	if (rc == SQLITE_OK)
		return 0;
	localfs_fail(err, localfs_db_code(rc), "sqlite3_exec(%s) failed: %s", what,
		     msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return -1;
}

int localfs_db_create_schema(struct localfs_db *db, uint64_t blocks,
			     unsigned group, struct vimap_storage_error *err)
{
	int64_t instance = 0;
	char *sql;
	int ret;

	if (getrandom(&instance, sizeof(instance), 0) != (ssize_t)sizeof(instance))
		instance = (int64_t)time(NULL) ^ (int64_t)getpid() << 32;
	sql = sqlite3_mprintf(
		"BEGIN;%s"
		"INSERT INTO meta (key, value) VALUES ('format_version', %d),"
		" ('instance', %lld), ('next_file_id', 1), ('last_uidvalidity', 0);"
		"INSERT INTO quota (id, limit_blocks, storage_group) VALUES (1, %lld, %u);"
		"COMMIT;", localfs_schema, LOCALFS_FORMAT_VERSION, (long long)instance,
		(long long)(blocks > INT64_MAX ? INT64_MAX : blocks), group);
	ret = localfs_db_exec_sql(db, sql, "create schema", err);
	sqlite3_free(sql);
	if (ret < 0 && !sqlite3_get_autocommit(db->db))
		localfs_db_exec_sql(db, "ROLLBACK", "rollback", NULL);
	return ret;
}

int localfs_db_upgrade(struct localfs_db *db, const char *path,
		       struct vimap_storage_error *err)
{
	int64_t version;
	char *sql;
	int ret;

	if (localfs_db_meta_get(db, "format_version", &version, err) < 0)
		return -1;
	if (version == LOCALFS_FORMAT_VERSION)
		return 0;
	if (version != 1)
		return localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
				    "%s: index format_version %lld cannot be upgraded to %d",
				    path, (long long)version, LOCALFS_FORMAT_VERSION);
	sql = sqlite3_mprintf("BEGIN IMMEDIATE;%s"
			      "UPDATE meta SET value = %d WHERE key = 'format_version';"
			      "COMMIT;", localfs_schema_2, LOCALFS_FORMAT_VERSION);
	ret = localfs_db_exec_sql(db, sql, "upgrade to format 2", err);
	sqlite3_free(sql);
	if (ret < 0 && !sqlite3_get_autocommit(db->db))
		localfs_db_exec_sql(db, "ROLLBACK", "rollback", NULL);
	return ret;
}

int localfs_db_check_version(struct localfs_db *db, const char *path, int64_t *instance_r,
			     struct vimap_storage_error *err)
{
	int64_t version;

	if (localfs_db_meta_get(db, "format_version", &version, err) < 0)
		return -1;
	if (version != LOCALFS_FORMAT_VERSION)
		return localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
				    "%s: index format_version %lld found, version %d expected "
				    "(the index must be upgraded first)", path, (long long)version,
				    LOCALFS_FORMAT_VERSION);
	return localfs_db_meta_get(db, "instance", instance_r, err);
}

static void localfs_db_read_mbox(sqlite3_stmt *stmt, struct localfs_mbox *mb)
{
	mb->id = sqlite3_column_int64(stmt, 0);
	mb->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
	mb->uidnext = (uint32_t)sqlite3_column_int64(stmt, 2);
	mb->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 3);
	mb->first_recent_uid = (uint32_t)sqlite3_column_int64(stmt, 4);
	mb->special_use = (uint32_t)sqlite3_column_int64(stmt, 5);
	mb->noselect = sqlite3_column_int(stmt, 6);
	mb->messages = (uint32_t)sqlite3_column_int64(stmt, 7);
	mb->unseen = (uint32_t)sqlite3_column_int64(stmt, 8);
	mb->size = (uint64_t)sqlite3_column_int64(stmt, 9);
	mb->recent = 0;
}

static int localfs_db_mbox_step(struct localfs_db *db, sqlite3_stmt *stmt,
				enum localfs_stmt id, struct localfs_mbox *mb_r,
				struct vimap_storage_error *err)
{
	int rc = sqlite3_step(stmt);
	int ret = 0;

	if (rc == SQLITE_ROW) {
		localfs_db_read_mbox(stmt, mb_r);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = localfs_db_fail(db, rc, "sqlite3_step", localfs_sql[id].name, err);
	}
	sqlite3_reset(stmt);
	return ret;
}

int localfs_db_mbox_get(struct localfs_db *db, const char *name,
			struct localfs_mbox *mb_r, struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_MB_GET, err);

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	return localfs_db_mbox_step(db, stmt, LOCALFS_MB_GET, mb_r, err);
}

int localfs_db_mbox_get_id(struct localfs_db *db, int64_t id,
			   struct localfs_mbox *mb_r, struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_MB_GET_ID, err);

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	return localfs_db_mbox_step(db, stmt, LOCALFS_MB_GET_ID, mb_r, err);
}

int localfs_db_mbox_recent(struct localfs_db *db, struct localfs_mbox *mb,
			   struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt;
	int rc;

	/* Nothing new since the last claim (the usual case), or never
	   claimed: no need to count. */
	if (mb->first_recent_uid >= mb->uidnext || mb->messages == 0) {
		mb->recent = 0;
		return 0;
	}
	if (mb->first_recent_uid <= 1) {
		mb->recent = mb->messages;
		return 0;
	}
	if ((stmt = localfs_db_stmt(db, LOCALFS_MSG_RECENT, err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mb->id);
	sqlite3_bind_int64(stmt, 2, mb->first_recent_uid);
	rc = sqlite3_step(stmt);
	mb->recent = rc == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return localfs_db_fail(db, rc, "sqlite3_step", "count recent", err);
	return 0;
}

int localfs_db_mbox_counts(struct localfs_db *db, const struct localfs_mbox *mb,
			   int64_t messages, int64_t unseen, int64_t size,
			   struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_MB_COUNTS, err);

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mb->id);
	sqlite3_bind_int64(stmt, 2, messages);
	sqlite3_bind_int64(stmt, 3, unseen);
	sqlite3_bind_int64(stmt, 4, size);
	sqlite3_bind_int64(stmt, 5, mb->uidnext);
	sqlite3_bind_int64(stmt, 6, (int64_t)mb->highestmodseq);
	return localfs_db_exec(db, stmt, LOCALFS_MB_COUNTS, err);
}

int localfs_db_quota_add(struct localfs_db *db, int64_t bytes, int64_t blocks,
			 const char *check_call, struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt;

	if (check_call != NULL && blocks > 0) {
		int64_t limit, used;
		int rc;

		if ((stmt = localfs_db_stmt(db, LOCALFS_QUOTA_GET, err)) == NULL)
			return -1;
		rc = sqlite3_step(stmt);
		if (rc != SQLITE_ROW) {
			if (rc == SQLITE_DONE)
				localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "index: no quota row");
			else
				localfs_db_fail(db, rc, "sqlite3_step", "select quota", err);
			sqlite3_reset(stmt);
			return -1;
		}
		limit = sqlite3_column_int64(stmt, 0);
		used = sqlite3_column_int64(stmt, 2);
		sqlite3_reset(stmt);
		if (used + blocks > limit)
			return localfs_fail(err, VIMAP_STORAGE_ERR_OVERQUOTA,
					    "%s failed: over quota: %lld blocks needed, %lld of "
					    "%lld in use", check_call, (long long)blocks,
					    (long long)used, (long long)limit);
	}
	if ((stmt = localfs_db_stmt(db, LOCALFS_QUOTA_ADD, err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, bytes);
	sqlite3_bind_int64(stmt, 2, blocks);
	return localfs_db_exec(db, stmt, LOCALFS_QUOTA_ADD, err);
}

int localfs_db_next_uidvalidity(struct localfs_db *db, uint32_t *uidvalidity_r,
				struct vimap_storage_error *err)
{
	int64_t last, now = (int64_t)time(NULL);

	if (localfs_db_meta_get(db, "last_uidvalidity", &last, err) < 0)
		return -1;
	if (now <= last)
		now = last + 1;
	if (now > (int64_t)UINT32_MAX)
		return localfs_fail(err, VIMAP_STORAGE_ERR_LIMIT,
				    "UIDVALIDITY would pass 2^32-1");
	if (localfs_db_meta_set(db, "last_uidvalidity", now, err) < 0)
		return -1;
	*uidvalidity_r = (uint32_t)now;
	return 0;
}
