/* storage plugin `localfs`: what its source files share.  Never installed.
 *
 * Layout of the filepool (FILEPOOLID, an absolute directory):
 *
 *     FILEPOOL/users/USER/index.db      the user's index (SQLite, WAL mode)
 *     FILEPOOL/users/USER/msg/NN/ID     message ID's bytes, NN = ID % 256 in hex
 *     FILEPOOL/users/USER/tmp/ID.PID    a message being written by process PID
 *     FILEPOOL/users/~enrol.*           a user being enrolled (renamed into place)
 *     FILEPOOL/users/~trash.*           a user being removed (deleted recursively)
 *
 * '~' never occurs in a canonical user id, so the working names can never be
 * taken for a user.  File ids are reserved from the index in blocks (meta
 * key next_file_id) before files are written, so they are unique for the
 * life of the index and a file name is never reused.
 *
 * Writes: every write transaction of this process on a user's index is
 * taken under that user's write_lock (struct localfs_shared) and started
 * with BEGIN IMMEDIATE; other processes are waited for by SQLite's busy
 * timeout (then INUSE).  Appends of one user from several threads are
 * committed together (group commit, localfs-append.c).  Deleted messages'
 * files and cache blobs are removed after the commit (localfs-gc.c).
 *
 * Crash safety: a row is committed only after its file is complete and
 * durable, so a crash leaves at worst a file that no row names.  Files
 * left in tmp/ are removed at user_open; files in msg/ that no row names
 * (a crash between rename and commit) are ignored: never listed, never
 * reused, costing only their space.
 *
 * Connections: user and box handles hold no SQLite connection and no file
 * descriptor, so an idle session costs a few hundred bytes.  Every call
 * checks a connection to the user's index out of the process-wide pool
 * (localfs-pool.c) for its own thread, and back in when it returns; idle
 * connections stay cached per user, the least recently used closed beyond
 * `max_open_indexes`.  A call made from inside another call's callback
 * checks out a connection of its own.
 *
 * Sources: localfs.c (set-up, registry, administration, user_open),
 * localfs-pool.c (the connection pool), localfs-db.c (schema, statements,
 * transactions), localfs-file.c (message files), localfs-mailbox.c,
 * localfs-append.c, localfs-box.c (sync, fetch, bytes), localfs-store.c
 * (STORE, EXPUNGE), localfs-copy.c, localfs-gc.c. */
#ifndef VIMAP_LOCALFS_PRIVATE_H
#define VIMAP_LOCALFS_PRIVATE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <sqlite3.h>
#include <vimap/storage.h>
#include "storage-support.h"

#define LOCALFS_FORMAT_VERSION 2    /* meta.format_version this build reads */
#define LOCALFS_BLOCK_SIZE 4096ull  /* a quota block */
#define LOCALFS_ID_BLOCK 1024       /* file ids reserved at once */
#define LOCALFS_BUSY_MS 5000        /* SQLite busy timeout */
#define LOCALFS_UID_MAX 0xffffffffu
#define LOCALFS_GC_BATCH 2000       /* garbage rows cleaned per transaction */
#define LOCALFS_MAX_OPEN 64         /* default of config `max_open_indexes` */

/* struct localfs_shared.gc_state */
#define LOCALFS_GC_IDLE 0
#define LOCALFS_GC_RUNNING 1        /* a clean-up is queued or running */
#define LOCALFS_GC_AGAIN 2          /* ... and more garbage came meanwhile */

struct localfs_commit_req;

/* The plugin's state from init. */
struct localfs_state {
	struct vimap_plugin_ctx *ctx;
	const struct vimap_host *host;
	char *root;                  /* the filepool directory */
	char *users_dir;             /* root/users */
	int fsync;                   /* config `fsync` */
	unsigned max_open;           /* config `max_open_indexes` */
	pthread_mutex_t registry_lock; /* guards the registry and the pool */
	struct localfs_shared **buckets; /* users known to this process, hashed */
	unsigned nbuckets, nshared;
	struct localfs_conn *lru_head, *lru_tail; /* idle connections, newest first */
	unsigned pool_open;          /* connections open, idle or checked out */
	unsigned pool_idle;          /* ... of which idle */
	pid_t pool_pid;              /* the process that opened them */
	pthread_mutex_t gc_lock;
	pthread_cond_t gc_cond;      /* gc_pending went down */
	unsigned gc_pending;         /* clean-up jobs queued or running */
	int counters;                /* the counters below are registered */
	unsigned ctr_appended;       /* STATS "localfs.appended": messages */
	unsigned ctr_commits;        /* "localfs.append_commits": transactions */
	unsigned ctr_expunged;       /* "localfs.expunged": messages */
	unsigned ctr_cleaned;        /* "localfs.cleaned": files removed after */
};

/* What every handle of one user in this process shares. */
struct localfs_shared {
	struct localfs_shared *next; /* in its registry bucket */
	char *user;
	unsigned refcount;           /* under the state's registry_lock */
	struct localfs_conn *idle;   /* its idle connections, newest first (ditto) */
	unsigned generation;         /* bumped when the index is removed (ditto) */
	pthread_mutex_t write_lock;  /* held for every write transaction */
	pthread_mutex_t lock;        /* guards the commit queue and leader */
	pthread_cond_t cond;         /* a commit request was finished */
	struct localfs_commit_req *queue_head, *queue_tail;
	int leader;                  /* a thread is committing a batch */
	int gc_state;                /* LOCALFS_GC_*, under lock */
	pthread_mutex_t id_lock;     /* guards the reserved ids below */
	uint64_t id_next, id_end;    /* reserved file ids [next, end) */
	pid_t id_pid;                /* the process that reserved them */
	int64_t id_instance;         /* the index they were reserved from */
};

/* The prepared statements, cached per connection (localfs-db.c has the
   SQL and the names used in error texts). */
enum localfs_stmt {
	LOCALFS_BEGIN, LOCALFS_BEGIN_IMMEDIATE, LOCALFS_COMMIT, LOCALFS_ROLLBACK,
	LOCALFS_SAVEPOINT, LOCALFS_RELEASE, LOCALFS_ROLLBACK_TO,
	LOCALFS_META_GET, LOCALFS_META_SET, LOCALFS_META_RESERVE,
	LOCALFS_QUOTA_GET, LOCALFS_QUOTA_ADD, LOCALFS_QUOTA_SET,
	LOCALFS_MB_GET, LOCALFS_MB_GET_ID, LOCALFS_MB_LIST, LOCALFS_MB_INSERT,
	LOCALFS_MB_REVIVE, LOCALFS_MB_NOSELECT, LOCALFS_MB_DELETE,
	LOCALFS_MB_CHILD, LOCALFS_MB_CHILDREN, LOCALFS_MB_RENAME,
	LOCALFS_MB_COUNTS, LOCALFS_MB_CLAIM_RECENT, LOCALFS_MSG_RECENT,
	LOCALFS_MSG_INSERT, LOCALFS_CACHE_INSERT, LOCALFS_CACHE_COPY,
	LOCALFS_MSG_SCAN, LOCALFS_MSG_SCAN_CACHE,
	LOCALFS_MSG_SINCE, LOCALFS_MSG_SINCE_CACHE,
	LOCALFS_MSG_RANGE, LOCALFS_MSG_RANGE_CACHE,
	LOCALFS_MSG_FILE, LOCALFS_MSG_STORE_FLAGS, LOCALFS_MSG_STORE_KW,
	LOCALFS_MSG_UNSEEN_RANGE, LOCALFS_MSG_EXPUNGE_RANGE,
	LOCALFS_MSG_SOURCE_RANGE, LOCALFS_MSG_MOVE, LOCALFS_MSG_DELETE_ALL,
	LOCALFS_MSG_UIDS,
	LOCALFS_EXP_INSERT, LOCALFS_EXP_SINCE, LOCALFS_EXP_DELETE_ALL,
	LOCALFS_SUB_ADD, LOCALFS_SUB_DEL, LOCALFS_SUB_LIST,
	LOCALFS_GC_ANY, LOCALFS_GC_LIST, LOCALFS_GC_CACHE_DEL, LOCALFS_GC_DEL,
	LOCALFS_ACL_LIST, LOCALFS_ACL_SET, LOCALFS_ACL_DEL,
	LOCALFS_LINK_LIST, LOCALFS_LINK_SET, LOCALFS_LINK_DEL,
	LOCALFS_DLV_GET, LOCALFS_DLV_ADD, LOCALFS_DLV_PRUNE,
	LOCALFS_STMT_COUNT
};

/* One SQLite connection and its statement cache. */
struct localfs_db {
	sqlite3 *db;
	sqlite3_stmt *stmts[LOCALFS_STMT_COUNT];
	struct localfs_shared *shared; /* whose write_lock guards writes; may be NULL */
	int write_locked;            /* this connection holds shared->write_lock */
};

/* A connection of the pool: used by one thread at a time, between
   localfs_pool_get() and localfs_pool_put(). */
struct localfs_conn {
	struct localfs_state *st;
	struct localfs_shared *shared; /* whose index; referenced */
	struct localfs_conn *idle_next; /* in shared->idle, while idle */
	struct localfs_conn *lru_prev, *lru_next; /* in the state's LRU, while idle */
	struct localfs_db db;
	int dirfd;                   /* open on the user's directory */
	int64_t instance;            /* meta.instance of the index */
	unsigned generation;         /* shared->generation when opened */
};

/* A user_open handle: no connection, no descriptor (see the top). */
struct localfs_user {
	struct localfs_state *st;
	struct localfs_shared *shared;
	char *name;
	char *dir;                   /* users_dir/name */
	int64_t instance;            /* meta.instance of the index */
};

/* A mailbox_open handle: a mailbox id, nothing per message. */
struct localfs_box {
	struct localfs_user *user;
	int64_t id;                  /* mailboxes.id */
	uint32_t uidvalidity;        /* as opened: another value means re-created */
	char *name;                  /* as opened, for error texts */
};

/* One row of `mailboxes`. */
struct localfs_mbox {
	int64_t id;
	uint32_t uidvalidity, uidnext, first_recent_uid, special_use;
	uint32_t messages, unseen;
	uint32_t recent;             /* 0 until localfs_db_mbox_recent() */
	uint64_t highestmodseq, size;
	int noselect;
};

/* ---- localfs.c ---- */

/* Fills err (when not NULL) with `code` and the formatted text; returns -1
   (the support library's, shared with every storage plugin). */
#define localfs_fail storage_fail
/* The storage code for an errno value (ENOSPC: UNAVAILABLE, ...). */
enum vimap_storage_code localfs_errno_code(int errnum);
/* Blocks of a message of `size` octets: ceil(size / 4096). */
uint64_t localfs_blocks(uint64_t size);
/* Adds to counter `id` (one of the ctr_* of st) when registered. */
void localfs_count(struct localfs_state *st, unsigned id, int64_t delta);
/* Logs through the host. */
void localfs_log(struct localfs_state *st, enum vimap_log_level level,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- localfs-db.c ---- */

/* The tables format 2 added to format 1 (idempotent SQL). */
#define LOCALFS_SCHEMA_2 \
	"CREATE TABLE IF NOT EXISTS acl (mailbox_id INTEGER NOT NULL" \
	" REFERENCES mailboxes (id) ON DELETE CASCADE, identifier TEXT NOT NULL," \
	" rights TEXT NOT NULL, PRIMARY KEY (mailbox_id, identifier)) WITHOUT ROWID;" \
	"CREATE TABLE IF NOT EXISTS links (name TEXT PRIMARY KEY, owner TEXT NOT NULL," \
	" owner_mailbox TEXT NOT NULL) WITHOUT ROWID;" \
	"CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, mailbox_id INTEGER" \
	" NOT NULL, uid INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;"

/* How long append_once remembers a delivery id (seconds): far longer than
   any restart after a crash takes. */
#define LOCALFS_DELIVERY_KEEP (7 * 24 * 3600)
extern const char localfs_schema_2[];

/* Opens the index at `path` (creating it when `create`), sets WAL mode,
   foreign keys, the busy timeout and synchronous FULL (fsync_on) or
   NORMAL, and registers the keyword function.  `shared` (may be NULL) is
   whose write_lock localfs_db_begin_write() takes. */
int localfs_db_open(struct localfs_db *db, const char *path, int create,
		    int fsync_on, struct localfs_shared *shared,
		    struct vimap_storage_error *err);
/* Finalizes the statements and closes; safe on a closed db. */
void localfs_db_close(struct localfs_db *db);
/* Makes an idle connection small: finalizes the statements that only
   infrequent calls use and gives back the page cache.  Outside any
   transaction. */
void localfs_db_trim(struct localfs_db *db);
/* Creates the schema and the first rows of a new index. */
int localfs_db_create_schema(struct localfs_db *db, uint64_t blocks,
			     unsigned group, struct vimap_storage_error *err);
/* Refuses an index of another format_version (INTERNAL, naming `path`,
   the version found and the one expected); *instance_r is meta.instance. */
int localfs_db_check_version(struct localfs_db *db, const char *path, int64_t *instance_r,
			     struct vimap_storage_error *err);
/* Brings a format 1 index to this build's format in one transaction
   (nothing when it is there already). */
int localfs_db_upgrade(struct localfs_db *db, const char *path,
		       struct vimap_storage_error *err);
/* The cached statement `id`, reset and ready for binding; NULL with err. */
sqlite3_stmt *localfs_db_stmt(struct localfs_db *db, enum localfs_stmt id,
			      struct vimap_storage_error *err);
/* The name of statement `id` for error texts. */
const char *localfs_db_stmt_name(enum localfs_stmt id);
/* Fills err for a failed SQLite call: "CALL(WHAT) failed: REASON", with the
   code mapped (BUSY: INUSE, FULL/IOERR: UNAVAILABLE, ...).  Returns -1. */
int localfs_db_fail(struct localfs_db *db, int rc, const char *call,
		    const char *what, struct vimap_storage_error *err);
/* Steps `stmt` (statement `id`) to its end and resets it; 0 or -1. */
int localfs_db_exec(struct localfs_db *db, sqlite3_stmt *stmt,
		    enum localfs_stmt id, struct vimap_storage_error *err);
/* Runs statement `id` without parameters (BEGIN, COMMIT, ...). */
int localfs_db_run(struct localfs_db *db, enum localfs_stmt id,
		   struct vimap_storage_error *err);
/* A write transaction: takes the shared write_lock, BEGIN IMMEDIATE. */
int localfs_db_begin_write(struct localfs_db *db, struct vimap_storage_error *err);
/* COMMIT and drop the write_lock; on failure rolls back first. */
int localfs_db_commit_write(struct localfs_db *db, struct vimap_storage_error *err);
/* ROLLBACK (when a transaction is open) and drop the write_lock. */
void localfs_db_rollback_write(struct localfs_db *db);
/* A read transaction (a consistent snapshot): BEGIN, and COMMIT to end. */
int localfs_db_begin_read(struct localfs_db *db, struct vimap_storage_error *err);
void localfs_db_end_read(struct localfs_db *db);
/* meta value of `key`; -1 with err when absent. */
int localfs_db_meta_get(struct localfs_db *db, const char *key, int64_t *value_r,
			struct vimap_storage_error *err);
int localfs_db_meta_set(struct localfs_db *db, const char *key, int64_t value,
			struct vimap_storage_error *err);
/* The mailbox row of `name`: 1 found, 0 not, -1 error. */
int localfs_db_mbox_get(struct localfs_db *db, const char *name,
			struct localfs_mbox *mb_r, struct vimap_storage_error *err);
int localfs_db_mbox_get_id(struct localfs_db *db, int64_t id,
			   struct localfs_mbox *mb_r, struct vimap_storage_error *err);
/* Fills mb->recent: the messages from mb->first_recent_uid on (a count
   over that UID range only when it is neither empty nor everything). */
int localfs_db_mbox_recent(struct localfs_db *db, struct localfs_mbox *mb,
			   struct vimap_storage_error *err);
/* Adds to a mailbox's counters and sets its uidnext and highestmodseq. */
int localfs_db_mbox_counts(struct localfs_db *db, const struct localfs_mbox *mb,
			   int64_t messages, int64_t unseen, int64_t size,
			   struct vimap_storage_error *err);
/* Adds to the quota's usage.  With `check_call` (the call, for the error
   text), OVERQUOTA (nothing changed) when the blocks would pass the limit. */
int localfs_db_quota_add(struct localfs_db *db, int64_t bytes, int64_t blocks,
			 const char *check_call, struct vimap_storage_error *err);
/* A new UIDVALIDITY: the time, or one more than the last one given. */
int localfs_db_next_uidvalidity(struct localfs_db *db, uint32_t *uidvalidity_r,
				struct vimap_storage_error *err);
/* Normalizes a keyword list: single spaces, no duplicates (ASCII case
   insensitive).  Caller frees. */
char *localfs_db_keywords(const char *old, int mode, const char *arg);

/* ---- localfs-file.c ---- */

/* "msg/NN/ID" for file `id`, into buf (at least 48 bytes). */
void localfs_file_path(char *buf, size_t size, uint64_t id);
/* Writes `data` to tmp/ID.PID under `dirfd` (fdatasync when fsync_on), and
   renames it to msg/NN/ID.  The directory is not synced: the caller syncs
   every msg/NN it wrote into (localfs_file_sync_dirs) before committing. */
int localfs_file_store(int dirfd, uint64_t id, const void *data, size_t size,
		       int fsync_on, struct vimap_storage_error *err);
/* Hard-links file `from` to `to` (copying when linking is impossible). */
int localfs_file_link(int dirfd, uint64_t from, uint64_t to, int fsync_on,
		      struct vimap_storage_error *err);
/* fsyncs the msg/NN directories of `ids` (each once), when fsync_on. */
int localfs_file_sync_dirs(int dirfd, const uint64_t *ids, unsigned count,
			   int fsync_on, struct vimap_storage_error *err);
/* Unlinks msg/NN/ID of each id; errors are logged, not returned. */
void localfs_file_unlink(struct localfs_state *st, int dirfd,
			 const uint64_t *ids, unsigned count);
/* mmaps file `id` read-only; it must hold exactly `size` octets. */
int localfs_file_map(int dirfd, uint64_t id, uint64_t size,
		     struct vimap_message_data *out, struct vimap_storage_error *err);
void localfs_file_unmap(struct vimap_message_data *data);
/* Removes tmp/ files left by processes that are gone. */
void localfs_file_clean_tmp(struct localfs_state *st, int dirfd);
/* fsyncs the directory `path` (not when fsync_on is 0). */
int localfs_file_sync_dir(const char *path, int fsync_on,
			  struct vimap_storage_error *err);
/* Removes `path` and everything under it. */
int localfs_file_remove_tree(const char *path, struct vimap_storage_error *err);
/* Makes a new user tree at `path`: msg/00..ff and tmp/. */
int localfs_file_make_tree(const char *path, struct vimap_storage_error *err);

/* ---- localfs-gc.c ---- */

/* Cleans up after the garbage of the index of `sh`'s user (files and
   cache blobs of deleted messages): on the kernel's worker pool when there
   is one, else right now on a connection of the pool.  Call after a
   transaction that deleted messages (with its connection checked in), and
   at user_open. */
void localfs_gc_schedule(struct localfs_state *st, struct localfs_shared *sh);
/* Waits until no clean-up job of this plugin instance is queued or
   running (deinit). */
void localfs_gc_wait(struct localfs_state *st);
/* The user's shared record, referenced (localfs.c's registry, a hash
   table under registry_lock). */
struct localfs_shared *localfs_shared_ref(struct localfs_state *st, const char *user);
void localfs_shared_unref(struct localfs_state *st, struct localfs_shared **shp);
/* Frees the registry's table (deinit: every record is gone by then). */
void localfs_shared_deinit(struct localfs_state *st);

/* ---- localfs-pool.c ---- */

/* Checks out a connection to the index of `sh`'s user for the calling
   thread alone: its most recently used idle one, else a newly opened one
   (never waits for another thread).  With `instance` not 0, NONEXISTENT
   when the index is another one (the user was removed and enrolled again
   since).  *conn_r stays valid until localfs_pool_put(). */
int localfs_pool_get_shared(struct localfs_state *st, struct localfs_shared *sh,
			    int64_t instance, struct localfs_conn **conn_r,
			    struct vimap_storage_error *err);
/* The same for user handle u (its index instance). */
int localfs_pool_get(struct localfs_user *u, struct localfs_conn **conn_r,
		     struct vimap_storage_error *err);
/* Checks *connp (NULL is ignored) back in, and leaves NULL: an open
   transaction is rolled back, the connection kept as its user's most
   recently used one (unless its index was removed), and the least
   recently used idle connections closed while more than max_open are
   open. */
void localfs_pool_put(struct localfs_conn **connp);
/* Closes the idle connections of `sh`'s index and makes the checked-out
   ones close at check-in: the index was removed (unenroll). */
void localfs_pool_invalidate(struct localfs_state *st, struct localfs_shared *sh);
/* Closes every idle connection (deinit). */
void localfs_pool_flush(struct localfs_state *st);

/* ---- localfs-mailbox.c (ops on a user handle) ---- */

/* The storage ops of this part; their contracts are in <vimap/storage.h>.
   subscriptions() passes a NULL info for a subscribed name that has no
   mailbox, else the mailbox's attributes and special use. */
int localfs_mailbox_list(void *user, vimap_name_cb *cb, void *ctx,
			 struct vimap_storage_error *err);
int localfs_mailbox_create(void *user, const char *name, uint32_t special_use,
			   struct vimap_storage_error *err);
int localfs_mailbox_delete(void *user, const char *name,
			   struct vimap_storage_error *err);
int localfs_mailbox_rename(void *user, const char *from, const char *to,
			   struct vimap_storage_error *err);
/* The row of a selectable mailbox `name`, with its recent count, read in
   one snapshot; NONEXISTENT (naming `call`) for a missing or \Noselect
   one.  0 or -1. */
int localfs_mailbox_lookup(struct localfs_user *user, const char *call, const char *name,
			   struct localfs_mbox *mb_r, struct vimap_storage_error *err);
int localfs_mailbox_status(void *user, const char *name,
			   struct vimap_mailbox_info *info_r,
			   struct vimap_storage_error *err);
/* ---- localfs-acl.c: the ABI 1.1 sharing ops ---- */
int localfs_acl_list(void *user, const char *mailbox, vimap_acl_cb *cb, void *ctx,
		     struct vimap_storage_error *err);
int localfs_acl_set(void *user, const char *mailbox, const char *identifier,
		    const char *rights, struct vimap_storage_error *err);
int localfs_link_set(void *user, const char *name, const char *owner,
		     const char *owner_mailbox, struct vimap_storage_error *err);
int localfs_link_list(void *user, vimap_link_cb *cb, void *ctx,
		      struct vimap_storage_error *err);
/* Removes every ACL entry of mailbox `mailbox_id`, inside the caller's
   write transaction. */
int localfs_acl_clear(struct localfs_db *db, int64_t mailbox_id,
		      struct vimap_storage_error *err);

/* The ABI 1.1 exactly-once append (localfs-append.c). */
int localfs_append_once(void *user, const char *mailbox, const struct vimap_append *msg,
			const char *delivery_id, uint32_t *uidvalidity_r, uint32_t *uid_r,
			int *duplicate_r, struct vimap_storage_error *err);

/* ---- localfs-format.c: the store's format (ABI 1.1) ---- */
int localfs_check_format(void *state, struct vimap_storage_error *err);
int localfs_upgrade(void *state, vimap_progress_cb *progress, void *ctx,
		    struct vimap_storage_error *err);

int localfs_mailbox_subscribe(void *user, const char *name, int on,
			      struct vimap_storage_error *err);
int localfs_mailbox_subscriptions(void *user, vimap_name_cb *cb, void *ctx,
				  struct vimap_storage_error *err);
/* Creates mailbox `name` inside the caller's write transaction (parents
   as \Noselect nodes); *id_r is its id.  EXISTS when it exists. */
int localfs_mailbox_create_in(struct localfs_db *db, const char *name,
			      uint32_t special_use, int64_t *id_r,
			      struct vimap_storage_error *err);
/* The info of a mailbox row. */
void localfs_mailbox_info(const struct localfs_mbox *mb,
			  struct vimap_mailbox_info *info_r);

/* ---- localfs-append.c ---- */

/* The append op (<vimap/storage.h>); group-committed with other threads'
   appends of the same user. */
int localfs_append(void *user, const char *mailbox,
		   const struct vimap_append *msgs, unsigned count,
		   uint32_t *uidvalidity_r, uint32_t *uids_r,
		   struct vimap_storage_error *err);
/* Reserves `count` unused file ids of the user into ids_r; `db`, a
   connection of u's index outside any transaction, takes a new block
   when one is needed. */
int localfs_append_reserve_ids(struct localfs_user *u, struct localfs_db *db,
			       uint64_t *ids_r, unsigned count,
			       struct vimap_storage_error *err);

/* ---- localfs-box.c (ops on a box handle) ---- */

/* The storage ops on an open mailbox (<vimap/storage.h>).  Callbacks of
   sync and fetch run inside the call's read snapshot; a plugin call made
   from one runs on a connection of its own, so it sees the newest state,
   not that snapshot. */
int localfs_box_open(void *user, const char *name, void **box_r,
		     struct vimap_mailbox_info *info_r,
		     struct vimap_storage_error *err);
void localfs_box_close(void *box);
int localfs_box_sync(void *box, uint64_t since_modseq, unsigned want,
		     vimap_message_cb *changed, vimap_uid_cb *expunged,
		     void *ctx, struct vimap_mailbox_info *info_r,
		     struct vimap_storage_error *err);
int localfs_box_claim_recent(void *box, uint32_t *first_recent_r,
			     struct vimap_storage_error *err);
int localfs_box_fetch(void *box, const uint32_t *uids, unsigned count,
		      unsigned want, vimap_message_cb *cb, void *ctx,
		      struct vimap_storage_error *err);
int localfs_box_open_message(void *box, uint32_t uid,
			     struct vimap_message_data *out,
			     struct vimap_storage_error *err);
void localfs_box_close_message(void *box, struct vimap_message_data *data);
/* The box's mailbox row read on `db`, checked to be the one opened:
   NONEXISTENT (the text naming `call`) when it was deleted, re-created or
   made \Noselect. */
int localfs_box_row(struct localfs_db *db, struct localfs_box *box, const char *call,
		    struct localfs_mbox *mb_r, struct vimap_storage_error *err);
/* Splits ascending `uids` into runs of consecutive UIDs: calls run_cb for
   each [first, last]; stops at the first -1. */
int localfs_box_runs(const uint32_t *uids, unsigned count,
		     int (*run_cb)(void *ctx, uint32_t first, uint32_t last),
		     void *ctx);

/* ---- localfs-store.c ---- */

/* STORE and EXPUNGE (<vimap/storage.h>): one new modseq per call; the
   callbacks run after the commit. */
int localfs_store(void *box, const uint32_t *uids, unsigned count,
		  enum vimap_store_mode mode, uint32_t flags,
		  const char *keywords, vimap_message_cb *changed, void *ctx,
		  struct vimap_storage_error *err);
int localfs_expunge(void *box, const uint32_t *uids, unsigned count,
		    vimap_uid_cb *expunged, void *ctx,
		    struct vimap_storage_error *err);

/* ---- localfs-copy.c ---- */

/* COPY and MOVE (<vimap/storage.h>). */
int localfs_copy(void *box, const uint32_t *uids, unsigned count,
		 const char *dest, int move, uint32_t *uidvalidity_r,
		 uint32_t *dest_uids_r, vimap_uid_cb *expunged, void *ctx,
		 struct vimap_storage_error *err);
/* Moves every message of mailbox `from` into `to` (new UIDs, same files),
   recording them as expunged in `from`; inside the caller's transaction. */
int localfs_copy_move_all(struct localfs_db *db, const struct localfs_mbox *from,
			  const struct localfs_mbox *to,
			  struct vimap_storage_error *err);

#endif
