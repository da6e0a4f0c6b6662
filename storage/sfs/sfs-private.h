/* storage plugin `sfs`: the shared filepool on PostgreSQL.  What its source
 * files share; never installed.
 *
 * The filepool id (host->setting("filepoolid")) is a libpq connection
 * string.  Several vimapd processes, on one machine or many, may serve one
 * database at the same time: every operation is one database transaction,
 * and a change is announced to the other processes with NOTIFY.
 *
 * Schema (sfs-schema.c has the SQL; format_version in vimap_meta):
 *
 *   vimap_meta          key/value: format_version
 *   vimap_users         one row per enrolled user: quota (limit, used bytes
 *                       and blocks), storage group, last UIDVALIDITY given
 *   vimap_mailboxes     one row per mailbox or \Noselect node, with its
 *                       counters (messages, unseen, size), uidnext,
 *                       highestmodseq and first_recent_uid
 *   vimap_bodies        one row per distinct message content: its size and
 *                       how many messages use it (COPY shares a body;
 *                       triggers keep the count and delete a body nobody
 *                       uses, its chunks going by cascade)
 *   vimap_chunks        the bytes of a body in SFS_CHUNK pieces, partitioned
 *                       by storage group (a group may live in a tablespace)
 *   vimap_messages      one row per message: (mailbox_id, uid), its body and
 *                       the kernel's cache blob (the last column: a scan
 *                       that does not want it stops decoding before it)
 *   vimap_expunged      (mailbox_id, uid, modseq) of each expunge
 *   vimap_subscriptions (user_id, name)
 *   vimap_acl           (mailbox_id, identifier, rights): by mailbox id, so
 *                       entries follow a rename and go with a delete
 *   vimap_links         (user_id, name, owner, owner_mailbox)
 *   vimap_deliveries    (user_id, delivery_id) -> mailbox, UID, time: the
 *                       ids append_once saw, kept SFS_DELIVERY_KEEP
 *
 * Locking: every write transaction first locks its user's row
 * (SELECT ... FOR NO KEY UPDATE, or the quota UPDATE), so the writes of one
 * user are serialized across every process and no two transactions can
 * deadlock on each other; UIDs and modseqs are then read and advanced on
 * the mailbox row under that lock, so they never collide.  Body rows are
 * written before the lock is taken (an APPEND of 50 MB does not block the
 * user's other writers while it uploads).  Reads take no lock: a read of
 * one statement is its own snapshot, a sync of several runs in one
 * REPEATABLE READ transaction; FETCH reads in batches of SFS_BATCH records
 * (each consistent, an expunge in between only takes records away).
 *
 * Sources: sfs.c (set-up, administration, user handles, the ops table),
 * sfs-pool.c (connections, statements, transactions, errors), sfs-db.c
 * (rows several operations share: user lock, mailbox rows, quota),
 * sfs-schema.c (schema, check_format, upgrade), sfs-mailbox.c,
 * sfs-append.c, sfs-box.c (sync, fetch, bytes), sfs-cache.c (the record
 * lists SELECT is served from), sfs-store.c (STORE, EXPUNGE), sfs-copy.c, sfs-notify.c (NOTIFY and the listener thread),
 * sfs-share.c (ACL and links). */
#ifndef VIMAP_SFS_PRIVATE_H
#define VIMAP_SFS_PRIVATE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <libpq-fe.h>
#include <vimap/storage.h>
#include "storage-support.h"

#define SFS_FORMAT_VERSION 1        /* vimap_meta.format_version of this build */
#define SFS_BLOCK_SIZE 4096ull      /* a quota block */
#define SFS_CHUNK (256u * 1024u)    /* bytes per vimap_chunks row */
#define SFS_MEM_MAX (1024u * 1024u) /* larger bodies are read into a temp file */
#define SFS_UID_MAX 0xffffffffu
#define SFS_POOL_SIZE 8             /* default of config `pool_size` */
#define SFS_MAX_CONNECTIONS 64      /* default of config `max_connections` */
#define SFS_WAIT_MS 10000           /* longest wait for a free connection */
#define SFS_CHANNEL "vimap_changes" /* the NOTIFY channel */
#define SFS_DELIVERY_KEEP (8 * 86400) /* seconds append_once ids are kept */
#define SFS_MAX_PARAMS 12
#define SFS_BATCH 5000              /* records per query (SFS_BATCH_SQL) */
#define SFS_AHEAD_MAX 64            /* bodies read ahead at most at once */
#define SFS_AHEAD_BYTES (4u * 1024u * 1024u) /* and their octets at most */
#define SFS_CACHE_BYTES (32u * 1024u * 1024u) /* record lists kept (sfs-cache.c) */
#define SFS_FILL_MIN 16             /* a fetch of fewer blobs fills no cache */

/* The prepared statements (sfs-pool.c has the SQL). */
enum sfs_stmt {
	SFS_BEGIN, SFS_BEGIN_READ, SFS_COMMIT, SFS_ROLLBACK,
	SFS_USER_GET, SFS_USER_LOCK, SFS_USER_QUOTA_ADD, SFS_USER_QUOTA_SET,
	SFS_USER_UIDVALIDITY, SFS_USER_INSERT, SFS_USER_DELETE,
	SFS_MB_GET, SFS_MB_GET_LOCK, SFS_MB_GET_ID, SFS_MB_GET_ID_LOCK, SFS_MB_STATUS,
	SFS_MB_STATUS_ID, SFS_MB_LIST,
	SFS_MB_INSERT, SFS_MB_REVIVE, SFS_MB_NOSELECT, SFS_MB_DELETE, SFS_MB_CHILD,
	SFS_MB_CHILDREN, SFS_MB_RENAME, SFS_MB_COUNTS, SFS_MB_CLAIM_RECENT,
	SFS_MSG_RECENT, SFS_BODY_INSERT, SFS_CHUNK_INSERT, SFS_MSG_INSERT,
	SFS_MSG_SCAN, SFS_MSG_SCAN_CACHE, SFS_MSG_SINCE, SFS_MSG_SINCE_CACHE,
	SFS_MSG_RANGE, SFS_MSG_RANGE_CACHE,
	SFS_MSG_LIST, SFS_MSG_LIST_CACHE,
	SFS_MSG_BODY, SFS_MSG_BODIES, SFS_MSG_STORE,
	SFS_MSG_EXPUNGE_RANGE, SFS_MSG_SOURCE_RANGE, SFS_MSG_COPY, SFS_MSG_MOVE,
	SFS_MSG_DELETE_ALL, SFS_EXP_INSERT, SFS_EXP_SINCE, SFS_EXP_DELETE_ALL,
	SFS_SUB_ADD, SFS_SUB_DEL, SFS_SUB_LIST, SFS_NOTIFY,
	SFS_ACL_LIST, SFS_ACL_SET, SFS_ACL_DEL, SFS_ACL_DELETE_ALL,
	SFS_LINK_ADD, SFS_LINK_DEL, SFS_LINK_LIST,
	SFS_DLV_GET, SFS_DLV_ADD, SFS_DLV_PRUNE,
	SFS_STMT_COUNT
};

/* One database connection: used by one thread at a time between
   sfs_pool_get() and sfs_pool_put(). */
struct sfs_conn {
	PGconn *pg;
	struct sfs_conn *next;       /* in the idle list */
	unsigned char prepared[SFS_STMT_COUNT]; /* statement prepared on pg */
	int in_txn;                  /* BEGIN sent, no COMMIT/ROLLBACK yet */
	int reused;                  /* came from the idle list */
};

/* The plugin's state from init. */
struct sfs_state {
	struct vimap_plugin_ctx *ctx;
	const struct vimap_host *host;
	char *conninfo;              /* the filepool id */
	char *tablespaces;           /* config `tablespaces`: "GROUP=NAME ..." */
	char node[24];               /* this instance's id in NOTIFY payloads */
	unsigned pool_size;          /* idle connections kept */
	unsigned max_conns;          /* connections open at most */
	int notify;                  /* config `notify` */
	pthread_mutex_t lock;        /* guards the pool below */
	pthread_cond_t cond;         /* a connection was checked in */
	struct sfs_conn *idle;       /* idle connections, most recent first */
	unsigned open;               /* connections open (idle or out) */
	unsigned nidle;
	pid_t pid;                   /* the process that opened them */
	struct sfs_listener *listener; /* NULL when notify is off */
	struct sfs_cache *cache;     /* mailboxes' record lists (sfs-cache.c) */
};

/* A user_open handle. */
struct sfs_user {
	struct sfs_state *st;
	char *name;
	int64_t id;                  /* vimap_users.id: another id = re-enrolled */
	unsigned group;              /* storage group */
};

/* A mailbox_open handle. */
struct sfs_box {
	struct sfs_user *user;
	int64_t id;                  /* vimap_mailboxes.id */
	uint32_t uidvalidity;        /* as opened: another value means re-created */
	char *name;                  /* as opened, for error texts */
	/* Body read-ahead while a fetch hands out its records (sfs-box.c): */
	const PGresult *batch;       /* the fetch's current batch, or NULL */
	const struct vimap_message *mbatch; /* or its records from sfs-cache.c */
	unsigned mbatch_count;
	int batch_row;               /* its row (record) now in the callback */
	struct sfs_ahead *ahead;     /* bodies read ahead, or NULL */
	unsigned ahead_window;       /* messages to read ahead next time */
};

/* One row of vimap_mailboxes. */
struct sfs_mbox {
	int64_t id;
	uint32_t uidvalidity, uidnext, first_recent_uid, special_use;
	uint32_t messages, unseen;
	uint32_t recent;             /* from the status statements only, else 0 */
	uint64_t highestmodseq, size;
	int noselect;
	char name[1024];
};

/* Query parameters, built with sfs_p_*(): texts and binaries are borrowed
   (must outlive the query), numbers are formatted into `buf`. */
struct sfs_params {
	const char *values[SFS_MAX_PARAMS];
	int lengths[SFS_MAX_PARAMS];
	int formats[SFS_MAX_PARAMS];
	char buf[SFS_MAX_PARAMS][24];
	int n;
};

/* ---- sfs.c ---- */

/* Fills err (when not NULL) with `code` and the formatted text; returns -1
   (the support library's, shared with every storage plugin). */
#define sfs_fail storage_fail
/* Logs through the host. */
void sfs_log(struct sfs_state *st, enum vimap_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Blocks of a message of `size` octets: ceil(size / 4096). */
uint64_t sfs_blocks(uint64_t size);

/* ---- sfs-pool.c ---- */

/* Checks out a connection for the calling thread: an idle one, else a new
   one (up to max_connections; then waits up to SFS_WAIT_MS).  A connection
   that cannot be made gives UNAVAILABLE.  *conn_r is valid until
   sfs_pool_put(). */
int sfs_pool_get(struct sfs_state *st, struct sfs_conn **conn_r,
		 struct vimap_storage_error *err);
/* Checks *connp back in (NULL is ignored) and leaves NULL: an open
   transaction is rolled back; a broken connection is closed (the next call
   opens a new one); idle ones beyond pool_size are closed. */
void sfs_pool_put(struct sfs_state *st, struct sfs_conn **connp);
/* Closes every idle connection (deinit). */
void sfs_pool_flush(struct sfs_state *st);
/* Opens a connection to the filepool; NULL with err (UNAVAILABLE). */
PGconn *sfs_pool_connect(struct sfs_state *st, struct vimap_storage_error *err);

/* Query parameters: sfs_p_init() empties p, then each call appends one
   (a number, a text -- NULL is SQL NULL --, or binary bytes). */
void sfs_p_init(struct sfs_params *p);
void sfs_p_int(struct sfs_params *p, int64_t v);
void sfs_p_text(struct sfs_params *p, const char *s);
void sfs_p_bin(struct sfs_params *p, const void *data, size_t len);

/* Runs prepared statement `id` with `p` (NULL: none); results in binary
   format when `binary`.  Returns the result (caller PQclear()s) of a
   successful command, or NULL with err: the SQLSTATE mapped to a storage
   code (a lost connection is UNAVAILABLE). */
PGresult *sfs_exec(struct sfs_conn *c, enum sfs_stmt id, const struct sfs_params *p,
		   int binary, struct vimap_storage_error *err);
/* sfs_exec() for a command whose rows are not wanted: 0 or -1. */
int sfs_run(struct sfs_conn *c, enum sfs_stmt id, const struct sfs_params *p,
	    struct vimap_storage_error *err);
/* Sends statement `id` in single-row mode: each row then comes from
   sfs_next_row() (1 a row in *res_r, caller clears; 0 the end; -1 err). */
int sfs_stream(struct sfs_conn *c, enum sfs_stmt id, const struct sfs_params *p,
	       int binary, struct vimap_storage_error *err);
int sfs_next_row(struct sfs_conn *c, PGresult **res_r, struct vimap_storage_error *err);
/* Runs SQL text (no parameters, several statements allowed): 0 or -1. */
int sfs_exec_sql(PGconn *pg, const char *sql, const char *what,
		 struct vimap_storage_error *err);
/* Fills err from a failed result or connection ("WHAT failed: REASON");
   returns -1. */
int sfs_db_fail(PGconn *pg, const PGresult *res, const char *what,
		struct vimap_storage_error *err);
/* The first line of a libpq message (NULL or empty: "no answer from the
   server"), copied into buf when it has more than one; for log lines. */
const char *sfs_first_line(const char *msg, char *buf, size_t size);

/* Column values of text or binary results: an integer column (0 for
   NULL), a text column (NULL for NULL; valid while res is). */
int64_t sfs_get_int(const PGresult *res, int row, int col);
const char *sfs_get_text(const PGresult *res, int row, int col);

/* A call's transaction on a connection of its own: checks one out and
   sends BEGIN (a read-only REPEATABLE READ snapshot when `read`).  An idle
   connection found dead (the server restarted) is replaced once, so a
   restart costs no call an error.  0 or -1 (nothing to put back). */
int sfs_begin(struct sfs_state *st, int read, struct sfs_conn **conn_r,
	      struct vimap_storage_error *err);
/* One statement outside a transaction (a single statement is its own
   snapshot) on a connection checked out for it, with the same retry on a
   connection found dead: 0 with the result in *res_r (caller PQclear()s)
   and the connection in *conn_r (caller puts it back), or -1 with err and
   nothing to put back. */
int sfs_query(struct sfs_state *st, struct sfs_conn **conn_r, enum sfs_stmt id,
	      const struct sfs_params *p, int binary, PGresult **res_r,
	      struct vimap_storage_error *err);
/* Sets parameter idx (made by sfs_p_int) to v. */
void sfs_p_set_int(struct sfs_params *p, int idx, int64_t v);
/* COMMIT, then checks the connection in.  0 or -1. */
int sfs_commit(struct sfs_state *st, struct sfs_conn **connp,
	       struct vimap_storage_error *err);
/* ROLLBACK (when it still can) and checks the connection in. */
void sfs_rollback(struct sfs_state *st, struct sfs_conn **connp);
/* Ends the call: commits when ret is 0, else rolls back; returns 0 or -1. */
int sfs_end(struct sfs_state *st, struct sfs_conn **connp, int ret,
	    struct vimap_storage_error *err);

/* ---- sfs-db.c: shared queries on rows ---- */

/* Locks the user's row for this write transaction: NONEXISTENT when the
   user is not (any more) enrolled under that id. */
int sfs_db_lock_user(struct sfs_conn *c, struct sfs_user *u, const char *call,
		     struct vimap_storage_error *err);
/* The mailbox row of `name` (locked FOR UPDATE when `lock`): 1 found,
   0 not, -1 error. */
int sfs_db_mbox_get(struct sfs_conn *c, int64_t user_id, const char *name, int lock,
		    struct sfs_mbox *mb_r, struct vimap_storage_error *err);
int sfs_db_mbox_get_id(struct sfs_conn *c, int64_t id, int lock,
		       struct sfs_mbox *mb_r, struct vimap_storage_error *err);
/* The row of `name` (of user_id) or, when name is NULL, of mailbox `id`,
   with its recent count, in one statement: on c, or when c is NULL outside
   any transaction on a connection of its own.  1 found, 0 not, -1 error. */
int sfs_db_mbox_status(struct sfs_state *st, struct sfs_conn *c, int64_t user_id,
		       const char *name, int64_t id, struct sfs_mbox *mb_r,
		       struct vimap_storage_error *err);
/* Adds to a mailbox's counters and sets its uidnext and highestmodseq. */
int sfs_db_mbox_counts(struct sfs_conn *c, const struct sfs_mbox *mb, int64_t messages,
		       int64_t unseen, int64_t size, struct vimap_storage_error *err);
/* Adds to the user's quota usage; with `check_call`, OVERQUOTA (naming
   it) when blocks > 0 would pass the limit. */
int sfs_db_quota_add(struct sfs_conn *c, int64_t user_id, int64_t bytes, int64_t blocks,
		     const char *check_call, struct vimap_storage_error *err);
/* A new UIDVALIDITY for the user. */
int sfs_db_uidvalidity(struct sfs_conn *c, int64_t user_id, uint32_t *uidvalidity_r,
		       struct vimap_storage_error *err);
/* Normalizes a keyword list (single spaces, no duplicates, ASCII case
   insensitive) after a STORE of `mode` with `arg`.  Caller frees. */
char *sfs_db_keywords(const char *old, int mode, const char *arg);
/* The info of a mailbox row. */
void sfs_mailbox_info(const struct sfs_mbox *mb, struct vimap_mailbox_info *info_r);

/* ---- sfs-schema.c ---- */

/* The check_format and upgrade ops (<vimap/storage.h>): the schema's
   format_version and the configured tablespaces; upgrade creates or
   converts the schema in one transaction. */
int sfs_schema_check_format(void *state, struct vimap_storage_error *err);
int sfs_schema_upgrade(void *state, vimap_progress_cb *progress, void *ctx,
		       struct vimap_storage_error *err);
/* Checks the `tablespaces` setting's syntax at init. */
int sfs_schema_check_tablespaces(const char *spec, const char **error_r);

/* ---- sfs-notify.c ---- */

/* Queues NOTIFY (delivered at commit) that `user`'s `mailbox` changed,
   when notify is on.  0 or -1. */
int sfs_notify(struct sfs_state *st, struct sfs_conn *c, const char *user,
	       const char *mailbox, struct vimap_storage_error *err);
/* Starts the listener thread (LISTEN, then host->mailbox_changed for each
   other process's change).  0 or -1 with error_r. */
int sfs_notify_start(struct sfs_state *st, const char **error_r);
/* Stops and joins it; NULL-safe. */
void sfs_notify_stop(struct sfs_state *st);

/* ---- sfs-mailbox.c ---- */

/* The storage ops on a user handle for mailboxes and subscriptions; their
   contracts are in <vimap/storage.h>.  subscriptions() passes a NULL info
   for a subscribed name that has no mailbox. */
int sfs_mailbox_list(void *user, vimap_name_cb *cb, void *ctx,
		     struct vimap_storage_error *err);
int sfs_mailbox_create(void *user, const char *name, uint32_t special_use,
		       struct vimap_storage_error *err);
int sfs_mailbox_delete(void *user, const char *name, struct vimap_storage_error *err);
int sfs_mailbox_rename(void *user, const char *from, const char *to,
		       struct vimap_storage_error *err);
int sfs_mailbox_status(void *user, const char *name, struct vimap_mailbox_info *info_r,
		       struct vimap_storage_error *err);
int sfs_mailbox_subscribe(void *user, const char *name, int on,
			  struct vimap_storage_error *err);
int sfs_mailbox_subscriptions(void *user, vimap_name_cb *cb, void *ctx,
			      struct vimap_storage_error *err);
/* Creates mailbox `name` inside the caller's write transaction (parents as
   \Noselect nodes); *id_r (may be NULL) is its id.  EXISTS when it exists. */
int sfs_mailbox_create_in(struct sfs_conn *c, int64_t user_id, const char *name,
			  uint32_t special_use, int64_t *id_r,
			  struct vimap_storage_error *err);
/* The row of selectable mailbox `name` with its recent count, in one
   snapshot; NONEXISTENT naming `call` for a missing or \Noselect one. */
int sfs_mailbox_lookup(struct sfs_user *u, const char *call, const char *name,
		       struct sfs_mbox *mb_r, struct vimap_storage_error *err);

/* ---- sfs-append.c ---- */

/* The append and append_once ops (<vimap/storage.h>): one transaction,
   bodies first; append_once checks and records the delivery id under the
   user's lock, in the transaction that stores the message. */
int sfs_append(void *user, const char *mailbox, const struct vimap_append *msgs,
	       unsigned count, uint32_t *uidvalidity_r, uint32_t *uids_r,
	       struct vimap_storage_error *err);
int sfs_append_once(void *user, const char *mailbox, const struct vimap_append *msg,
		    const char *delivery_id, uint32_t *uidvalidity_r, uint32_t *uid_r,
		    int *duplicate_r, struct vimap_storage_error *err);

/* ---- sfs-box.c ---- */

/* The storage ops on an open mailbox (<vimap/storage.h>).  Callbacks of
   sync and fetch run while the call holds its connection; a plugin call
   made from one checks out a connection of its own.  open_message's bytes
   are in memory or in a mapped temporary file (sfs-box.c says when). */
int sfs_box_open(void *user, const char *name, void **box_r,
		 struct vimap_mailbox_info *info_r, struct vimap_storage_error *err);
void sfs_box_close(void *box);
int sfs_box_sync(void *box, uint64_t since_modseq, unsigned want,
		 vimap_message_cb *changed, vimap_uid_cb *expunged, void *ctx,
		 struct vimap_mailbox_info *info_r, struct vimap_storage_error *err);
int sfs_box_claim_recent(void *box, uint32_t *first_recent_r,
			 struct vimap_storage_error *err);
int sfs_box_fetch(void *box, const uint32_t *uids, unsigned count, unsigned want,
		  vimap_message_cb *cb, void *ctx, struct vimap_storage_error *err);
int sfs_box_open_message(void *box, uint32_t uid, struct vimap_message_data *out,
			 struct vimap_storage_error *err);
void sfs_box_close_message(void *box, struct vimap_message_data *data);
/* The box's mailbox row (locked when `lock`), checked to be the one
   opened: NONEXISTENT (naming `call`) when deleted, re-created or made
   \Noselect. */
int sfs_box_row(struct sfs_conn *c, struct sfs_box *box, const char *call, int lock,
		struct sfs_mbox *mb_r, struct vimap_storage_error *err);
/* Splits ascending `uids` into runs of consecutive UIDs: run_cb for each
   [first, last]; stops at the first -1. */
int sfs_box_runs(const uint32_t *uids, unsigned count,
		 int (*run_cb)(void *ctx, uint32_t first, uint32_t last), void *ctx);
/* Selects ascending `uids` for a statement: for a few runs of consecutive
   UIDs, sel_cb(ctx, first, last, NULL) for each run; for many, one
   sel_cb(ctx, lowest, highest, ARRAY) where ARRAY is a bigint[] literal of
   them all (valid during the call).  Stops at the first -1. */
int sfs_box_select(const uint32_t *uids, unsigned count,
		   int (*sel_cb)(void *ctx, uint32_t first, uint32_t last, const char *array),
		   void *ctx);

/* ---- sfs-cache.c ---- */

/* A bounded (max_bytes, least recently used first out) cache of mailboxes'
   record lists, with or without the cache blobs, each valid for one
   version of its mailbox row (uidvalidity, uidnext, highestmodseq,
   messages).  Thread safe.  sfs_cache_free() leaves NULL (NULL-safe). */
struct sfs_cache *sfs_cache_new(size_t max_bytes);
void sfs_cache_free(struct sfs_cache **cachep);
/* When the list of mailbox mb->id is cached for the version in mb, hands
   each record to cb in ascending UID order (without the lock: cb may call
   the plugin; the records are valid during the callback only) and returns
   1, or -1 when cb returned -1 (the rest not handed out); 0 when not
   cached (cb not called). */
int sfs_cache_serve(struct sfs_cache *cache, const struct sfs_mbox *mb,
		    vimap_message_cb *cb, void *ctx);
/* As sfs_cache_serve(), for the records of the UIDs in uids (any order;
   those not in the list are skipped) and, with with_blobs, their cache
   blobs (0 when the list was kept without them).  The records and blobs
   point into the list, valid during the callback only.  With `ahead` the
   records around the one in the callback are shown in ahead->mbatch for
   the body read-ahead. */
int sfs_cache_serve_uids(struct sfs_cache *cache, const struct sfs_mbox *mb,
			 const uint32_t *uids, unsigned count, int with_blobs,
			 vimap_message_cb *cb, void *ctx, struct sfs_box *ahead);
/* True when a list of mailbox `id` (of any version; with_blobs: kept with
   the blobs) is in the cache: worth reading the row to check it. */
int sfs_cache_has(struct sfs_cache *cache, int64_t id, int with_blobs);
/* Filling: sfs_cache_fill_new(), then sfs_cache_fill_add() for each record
   of the mailbox in ascending UID order (copied; its cache blob too
   when with_blobs), then either
   sfs_cache_fill_done() with the mailbox row read in the same snapshot
   (keeps the list when it has all mb->messages records and fits), or
   sfs_cache_fill_free(); both free *fp and leave NULL. */
struct sfs_cache_fill *sfs_cache_fill_new(struct sfs_cache *cache, int with_blobs);
void sfs_cache_fill_add(struct sfs_cache_fill *f, const struct vimap_message *m);
void sfs_cache_fill_done(struct sfs_cache *cache, struct sfs_cache_fill **fp,
			 const struct sfs_mbox *mb);
void sfs_cache_fill_free(struct sfs_cache_fill **fp);

/* ---- sfs-store.c ---- */

/* STORE and EXPUNGE (<vimap/storage.h>): one modseq per call; the
   callbacks run after the commit. */
int sfs_store(void *box, const uint32_t *uids, unsigned count, enum vimap_store_mode mode,
	      uint32_t flags, const char *keywords, vimap_message_cb *changed, void *ctx,
	      struct vimap_storage_error *err);
int sfs_expunge(void *box, const uint32_t *uids, unsigned count, vimap_uid_cb *expunged,
		void *ctx, struct vimap_storage_error *err);

/* Records `uids` (count of them) expunged from mailbox_id at `modseq`,
   for mailbox_sync; inside the caller's transaction. */
int sfs_db_record_expunged(struct sfs_conn *c, int64_t mailbox_id, const uint32_t *uids,
			   unsigned count, uint64_t modseq, struct vimap_storage_error *err);

/* ---- sfs-copy.c ---- */

/* COPY and MOVE (<vimap/storage.h>): rows share the source's bodies. */
int sfs_copy(void *box, const uint32_t *uids, unsigned count, const char *dest, int move,
	     uint32_t *uidvalidity_r, uint32_t *dest_uids_r, vimap_uid_cb *expunged,
	     void *ctx, struct vimap_storage_error *err);
/* Moves every message of `from` into `to` (new UIDs, same bodies),
   recording them expunged in `from`; inside the caller's transaction. */
int sfs_copy_move_all(struct sfs_conn *c, const struct sfs_mbox *from,
		      const struct sfs_mbox *to, struct vimap_storage_error *err);

/* ---- sfs-share.c ---- */

/* The ABI 1.1 sharing ops (<vimap/storage.h>): ACL entries by mailbox id
   (they follow a rename, go with a delete), links per user. */
int sfs_acl_list(void *user, const char *mailbox, vimap_acl_cb *cb, void *ctx,
		 struct vimap_storage_error *err);
int sfs_acl_set(void *user, const char *mailbox, const char *identifier,
		const char *rights, struct vimap_storage_error *err);
int sfs_link_set(void *user, const char *name, const char *owner,
		 const char *owner_mailbox, struct vimap_storage_error *err);
int sfs_link_list(void *user, vimap_link_cb *cb, void *ctx,
		  struct vimap_storage_error *err);

#endif
