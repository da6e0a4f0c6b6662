/* storage plugin `localfs`: the embedded default mailstore, one directory
 * tree per user under the filepool directory (FILEPOOLID), each with a
 * crash-safe SQLite index and one file per message (localfs-private.h has
 * the layout).  This file: set-up, the per-process registry of open users,
 * administration (enrol, unenrol, quota) and user_open.
 *
 * Configuration (`plugins: localfs:`):
 *   fsync: true   sync message files, directories and the index (SQLite
 *                 synchronous=FULL) before a change is acknowledged; false
 *                 survives kill -9 of the server but not a power loss.
 *   max_open_indexes: 64
 *                 SQLite connections kept open for the whole process
 *                 (localfs-pool.c): idle sessions hold none, so this, not
 *                 the number of sessions, bounds the memory of open
 *                 indexes. */
#include "autoconfig.h"
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include "error.h"
#include "localfs-private.h"
#include "xalloc.h"

static const char *const localfs_keys[] = { "fsync", "max_open_indexes", NULL };

static atomic_uint localfs_seq;


enum vimap_storage_code localfs_errno_code(int errnum)
{
	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
	case EIO:
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case EROFS:
	case EAGAIN:
	case EINTR:
		return VIMAP_STORAGE_ERR_UNAVAILABLE;
	case ENOENT:
		return VIMAP_STORAGE_ERR_NONEXISTENT;
	case EEXIST:
	case ENOTEMPTY:
		return VIMAP_STORAGE_ERR_EXISTS;
	default:
		return VIMAP_STORAGE_ERR_INTERNAL;
	}
}

uint64_t localfs_blocks(uint64_t size)
{
	return (size + LOCALFS_BLOCK_SIZE - 1) / LOCALFS_BLOCK_SIZE;
}

void localfs_count(struct localfs_state *st, unsigned id, int64_t delta)
{
	if (st->counters)
		st->host->counter_add(st->ctx, id, delta);
}

/* Registers the counters; without them the plugin works the same. */
static void localfs_counters(struct localfs_state *st)
{
	const char *error = NULL;

	st->counters =
		st->host->counter_register(st->ctx, "appended", &st->ctr_appended, &error) == 0 &&
		st->host->counter_register(st->ctx, "append_commits", &st->ctr_commits,
					   &error) == 0 &&
		st->host->counter_register(st->ctx, "expunged", &st->ctr_expunged, &error) == 0 &&
		st->host->counter_register(st->ctx, "cleaned", &st->ctr_cleaned, &error) == 0;
	if (!st->counters)
		localfs_log(st, VIMAP_LOG_WARNING, "counter_register() failed: %s", error);
}

void localfs_log(struct localfs_state *st, enum vimap_log_level level,
		 const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	st->host->log(st->ctx, level, "%s", buf);
}

/* Refuses anything but a canonical user id (defence in depth: the kernel
   canonicalizes, but the id becomes a path component here). */
static int localfs_check_user(const char *user, const char *call,
			      struct vimap_storage_error *err)
{
	size_t len = strlen(user);

	if (len == 0 || len > 64 || strcmp(user, ".") == 0 || strcmp(user, "..") == 0 ||
	    strspn(user, "abcdefghijklmnopqrstuvwxyz0123456789._-+@") != len)
		return localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
				    "%s(%s) failed: not a canonical user id", call, user);
	return 0;
}

/* ---- the registry of users open in this process ---- */

/* FNV-1a of a user id. */
static unsigned localfs_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Under registry_lock: doubles the table when it is fuller than 2 per
   bucket (with 10,000 users logged in, a list would cost a scan each). */
static void localfs_registry_grow(struct localfs_state *st)
{
	unsigned n = st->nbuckets == 0 ? 64 : st->nbuckets * 2, i;
	struct localfs_shared **b, *sh, *next;

	if (st->nbuckets > 0 && st->nshared <= st->nbuckets * 2)
		return;
	b = xcalloc(n, sizeof(*b));
	for (i = 0; i < st->nbuckets; i++) {
		for (sh = st->buckets[i]; sh != NULL; sh = next) {
			unsigned slot = localfs_hash(sh->user) & (n - 1);

			next = sh->next;
			sh->next = b[slot];
			b[slot] = sh;
		}
	}
	free(st->buckets);
	st->buckets = b;
	st->nbuckets = n;
}

/* The shared record of `user`, referenced. */
struct localfs_shared *localfs_shared_ref(struct localfs_state *st, const char *user)
{
	struct localfs_shared *sh;
	unsigned slot;

	pthread_mutex_lock(&st->registry_lock);
	localfs_registry_grow(st);
	slot = localfs_hash(user) & (st->nbuckets - 1);
	for (sh = st->buckets[slot]; sh != NULL; sh = sh->next) {
		if (strcmp(sh->user, user) == 0)
			break;
	}
	if (sh == NULL) {
		sh = xcalloc(1, sizeof(*sh));
		sh->user = xstrdup(user);
		pthread_mutex_init(&sh->write_lock, NULL);
		pthread_mutex_init(&sh->lock, NULL);
		pthread_mutex_init(&sh->id_lock, NULL);
		pthread_cond_init(&sh->cond, NULL);
		sh->next = st->buckets[slot];
		st->buckets[slot] = sh;
		st->nshared++;
	}
	sh->refcount++;
	pthread_mutex_unlock(&st->registry_lock);
	return sh;
}

void localfs_shared_unref(struct localfs_state *st, struct localfs_shared **shp)
{
	struct localfs_shared *sh = *shp, **pp;

	*shp = NULL;
	if (sh == NULL)
		return;
	pthread_mutex_lock(&st->registry_lock);
	if (--sh->refcount > 0) {
		pthread_mutex_unlock(&st->registry_lock);
		return;
	}
	for (pp = &st->buckets[localfs_hash(sh->user) & (st->nbuckets - 1)]; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == sh) {
			*pp = sh->next;
			break;
		}
	}
	st->nshared--;
	pthread_mutex_unlock(&st->registry_lock);
	pthread_mutex_destroy(&sh->write_lock);
	pthread_mutex_destroy(&sh->lock);
	pthread_mutex_destroy(&sh->id_lock);
	pthread_cond_destroy(&sh->cond);
	free(sh->user);
	free(sh);
}

void localfs_shared_deinit(struct localfs_state *st)
{
	if (st->nshared > 0)
		localfs_log(st, VIMAP_LOG_WARNING, "%u users still open at deinit", st->nshared);
	free(st->buckets);
	st->buckets = NULL;
	st->nbuckets = 0;
}

/* ---- set-up ---- */

static int localfs_mkdir(const char *path, const char **error_r)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0 || errno == EEXIST) {
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			return 0;
		return error_set(error_r, "%s exists and is not a directory", path);
	}
	return error_set(error_r, "mkdir(%s) failed: %s", path, strerror(errno));
}

/* 1 when working name "~KIND.USER.PID.SEQ" belongs to a process that is
   gone (or is a ~trash. tree, which anyone may finish deleting). */
static int localfs_leftover(const char *name)
{
	const char *last = strrchr(name, '.'), *p;
	long pid;

	if (strncmp(name, "~trash.", 7) == 0)
		return 1;
	if (last == NULL || last == name)
		return 1;
	for (p = last - 1; p > name && *p != '.'; p--)
		;
	pid = strtol(p + 1, NULL, 10);
	return pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH);
}

/* Finishes what a crash interrupted: ~enrol. trees of dead processes and
   every ~trash. tree are removed. */
static void localfs_clean_users_dir(struct localfs_state *st)
{
	struct vimap_storage_error err = { 0, NULL };
	struct dirent *de;
	DIR *dir = opendir(st->users_dir);

	if (dir == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		char *path;

		if (de->d_name[0] != '~' || !localfs_leftover(de->d_name))
			continue;
		path = xasprintf("%s/%s", st->users_dir, de->d_name);
		if (localfs_file_remove_tree(path, &err) < 0)
			localfs_log(st, VIMAP_LOG_WARNING, "%s", err.text);
		else
			localfs_log(st, VIMAP_LOG_INFO, "removed %s left by a crash", path);
		free(path);
	}
	closedir(dir);
}

static int localfs_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
			void **state_r, const char **error_r)
{
	struct localfs_state *st;
	const char *root = host->setting(ctx, "filepoolid");
	long long max_open;
	int fsync_on;

	if (host->config_check_keys(ctx, localfs_keys, error_r) < 0 ||
	    host->config_bool(ctx, "fsync", 1, &fsync_on, error_r) < 0 ||
	    host->config_int(ctx, "max_open_indexes", LOCALFS_MAX_OPEN, 1, 100000, &max_open,
			     error_r) < 0)
		return -1;
	if (root == NULL || root[0] != '/')
		return error_set(error_r, "filepoolid '%s' is not an absolute directory path",
				 root != NULL ? root : "");
	if (sqlite3_threadsafe() == 0)
		return error_set(error_r, "sqlite3_threadsafe() failed: SQLite is built "
				 "without thread support");
	/* RETURNING (3.35) carries STORE and EXPUNGE. */
	if (sqlite3_libversion_number() < 3035000)
		return error_set(error_r, "SQLite %s is too old: 3.35 or newer is needed",
				 sqlite3_libversion());
	st = xcalloc(1, sizeof(*st));
	st->ctx = ctx;
	st->host = host;
	st->fsync = fsync_on;
	st->max_open = (unsigned)max_open;
	st->pool_pid = getpid();
	st->root = xstrdup(root);
	st->users_dir = xasprintf("%s/users", root);
	pthread_mutex_init(&st->registry_lock, NULL);
	pthread_mutex_init(&st->gc_lock, NULL);
	pthread_cond_init(&st->gc_cond, NULL);
	if (localfs_mkdir(st->root, error_r) < 0 || localfs_mkdir(st->users_dir, error_r) < 0) {
		pthread_mutex_destroy(&st->registry_lock);
		pthread_mutex_destroy(&st->gc_lock);
		pthread_cond_destroy(&st->gc_cond);
		free(st->users_dir);
		free(st->root);
		free(st);
		return -1;
	}
	localfs_clean_users_dir(st);
	localfs_counters(st);
	host->log(ctx, VIMAP_LOG_INFO, "mailstore at %s (fsync %s, at most %u open indexes)",
		  st->root, fsync_on ? "on" : "off", st->max_open);
	*state_r = st;
	return 0;
}

static void localfs_deinit(void *state)
{
	struct localfs_state *st = state;

	localfs_gc_wait(st);
	localfs_pool_flush(st);
	localfs_shared_deinit(st);
	pthread_mutex_destroy(&st->registry_lock);
	pthread_mutex_destroy(&st->gc_lock);
	pthread_cond_destroy(&st->gc_cond);
	free(st->users_dir);
	free(st->root);
	free(st);
}

/* ---- administration ---- */

static int localfs_is_enrolled(void *state, const char *user,
			       struct vimap_storage_error *err)
{
	struct localfs_state *st = state;
	struct stat sb;
	char *path;
	int ret;

	if (localfs_check_user(user, "is_enrolled", err) < 0)
		return 0;
	path = xasprintf("%s/%s/index.db", st->users_dir, user);
	if (stat(path, &sb) == 0)
		ret = 1;
	else if (errno == ENOENT || errno == ENOTDIR)
		ret = 0;
	else
		ret = localfs_fail(err, localfs_errno_code(errno), "stat(%s) failed: %s", path,
				   strerror(errno));
	free(path);
	return ret;
}

/* Fills a new index: schema, quota and the default mailboxes. */
static int localfs_enroll_index(struct localfs_state *st, const char *dir, uint64_t blocks,
				unsigned group, struct vimap_storage_error *err)
{
	struct localfs_db db;
	char *path = xasprintf("%s/index.db", dir);
	int64_t id;
	unsigned i;
	int ret;

	ret = localfs_db_open(&db, path, 1, st->fsync, NULL, err);
	free(path);
	if (ret < 0)
		return -1;
	ret = localfs_db_create_schema(&db, blocks, group, err);
	if (ret == 0)
		ret = localfs_db_begin_write(&db, err);
	for (i = 0; ret == 0 && i < storage_default_mailbox_count; i++)
		ret = localfs_mailbox_create_in(&db, storage_default_mailboxes[i].name,
						storage_default_mailboxes[i].special_use, &id, err);
	if (ret == 0)
		ret = localfs_db_commit_write(&db, err);
	else if (db.write_locked)
		localfs_db_rollback_write(&db);
	localfs_db_close(&db);
	return ret;
}

static int localfs_enroll(void *state, const char *user, uint64_t blocks,
			  unsigned storage_group, struct vimap_storage_error *err)
{
	struct localfs_state *st = state;
	struct vimap_storage_error ignore;
	char *path, *tmp, *msg;
	struct stat sb;
	int ret = -1;

	if (localfs_check_user(user, "enroll", err) < 0)
		return -1;
	path = xasprintf("%s/%s", st->users_dir, user);
	tmp = xasprintf("%s/~enrol.%s.%ld.%u", st->users_dir, user, (long)getpid(),
			atomic_fetch_add(&localfs_seq, 1));
	msg = xasprintf("%s/msg", tmp);
	if (lstat(path, &sb) == 0) {
		localfs_fail(err, VIMAP_STORAGE_ERR_EXISTS, "enroll(%s) failed: already enrolled",
			     user);
	} else if (localfs_file_make_tree(tmp, err) == 0 &&
		   localfs_enroll_index(st, tmp, blocks, storage_group, err) == 0 &&
		   localfs_file_sync_dir(msg, st->fsync, err) == 0 &&
		   localfs_file_sync_dir(tmp, st->fsync, err) == 0) {
		if (rename(tmp, path) < 0)
			localfs_fail(err, localfs_errno_code(errno), "enroll(%s) failed: "
				     "rename(%s) failed: %s", user, path,
				     errno == EEXIST || errno == ENOTEMPTY ? "already enrolled"
				     : strerror(errno));
		else
			ret = localfs_file_sync_dir(st->users_dir, st->fsync, err);
	}
	if (ret < 0 && lstat(tmp, &sb) == 0)
		localfs_file_remove_tree(tmp, &ignore);
	free(msg);
	free(tmp);
	free(path);
	return ret;
}

static int localfs_unenroll(void *state, const char *user, struct vimap_storage_error *err)
{
	struct localfs_state *st = state;
	struct vimap_storage_error rm_err;
	char *path, *trash;
	int ret = -1;

	if (localfs_check_user(user, "unenroll", err) < 0)
		return -1;
	path = xasprintf("%s/%s", st->users_dir, user);
	trash = xasprintf("%s/~trash.%s.%ld.%u", st->users_dir, user, (long)getpid(),
			  atomic_fetch_add(&localfs_seq, 1));
	/* The rename is the unenrolment: what follows only frees space, and a
	   crash in it leaves a ~trash. tree the next start removes. */
	if (rename(path, trash) < 0) {
		localfs_fail(err, errno == ENOENT ? VIMAP_STORAGE_ERR_NONEXISTENT
			     : localfs_errno_code(errno), "unenroll(%s) failed: %s", user,
			     errno == ENOENT ? "not enrolled" : strerror(errno));
	} else if (localfs_file_sync_dir(st->users_dir, st->fsync, err) == 0) {
		struct localfs_shared *sh = localfs_shared_ref(st, user);

		/* Cached connections to the removed index must not serve a
		   user enrolled again under the same name. */
		localfs_pool_invalidate(st, sh);
		localfs_shared_unref(st, &sh);
		if (localfs_file_remove_tree(trash, &rm_err) < 0)
			localfs_log(st, VIMAP_LOG_WARNING, "unenroll(%s): %s", user, rm_err.text);
		ret = 0;
	}
	free(trash);
	free(path);
	return ret;
}

/* Checks out a connection to `user`'s index for an administrative call. */
static int localfs_admin_open(struct localfs_state *st, const char *user, const char *call,
			      struct localfs_conn **conn_r, struct vimap_storage_error *err)
{
	struct localfs_shared *sh;
	int ret;

	if (localfs_check_user(user, call, err) < 0)
		return -1;
	ret = localfs_is_enrolled(st, user, err);
	if (ret <= 0)
		return ret < 0 ? -1 : localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						   "%s(%s) failed: not enrolled", call, user);
	sh = localfs_shared_ref(st, user);
	ret = localfs_pool_get_shared(st, sh, 0, conn_r, err);
	localfs_shared_unref(st, &sh);
	if (ret < 0)
		localfs_fail(err, err->code, "%s(%s) failed: %s", call, user, err->text);
	return ret;
}

/* Reads the quota row: limit and used blocks. */
static int localfs_quota_read(struct localfs_db *db, uint64_t *limit_r, uint64_t *used_r,
			      struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_QUOTA_GET, err);
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*limit_r = (uint64_t)sqlite3_column_int64(stmt, 0);
		*used_r = (uint64_t)sqlite3_column_int64(stmt, 2);
		sqlite3_reset(stmt);
		return 0;
	}
	if (rc == SQLITE_DONE)
		localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "index: no quota row");
	else
		localfs_db_fail(db, rc, "sqlite3_step", "select quota", err);
	sqlite3_reset(stmt);
	return -1;
}

static int localfs_quota_get(void *state, const char *user, uint64_t *limit_r,
			     uint64_t *used_r, struct vimap_storage_error *err)
{
	struct localfs_state *st = state;
	struct localfs_conn *c;
	int ret;

	if (localfs_admin_open(st, user, "quota_get", &c, err) < 0)
		return -1;
	ret = localfs_quota_read(&c->db, limit_r, used_r, err);
	localfs_pool_put(&c);
	return ret;
}

static int localfs_quota_set(void *state, const char *user, uint64_t blocks,
			     int force, struct vimap_storage_error *err)
{
	struct localfs_state *st = state;
	struct localfs_conn *c;
	struct localfs_db *db;
	uint64_t limit, used;
	sqlite3_stmt *stmt;
	int ret;

	if (localfs_admin_open(st, user, "quota_set", &c, err) < 0)
		return -1;
	db = &c->db;
	ret = localfs_db_begin_write(db, err);
	if (ret == 0)
		ret = localfs_quota_read(db, &limit, &used, err);
	if (ret == 0 && blocks < used && !force)
		ret = localfs_fail(err, VIMAP_STORAGE_ERR_CANNOT,
				   "quota_set(%s) failed: %llu blocks are in use, more than %llu",
				   user, (unsigned long long)used, (unsigned long long)blocks);
	if (ret == 0 && (stmt = localfs_db_stmt(db, LOCALFS_QUOTA_SET, err)) == NULL)
		ret = -1;
	if (ret == 0) {
		sqlite3_bind_int64(stmt, 1, blocks > INT64_MAX ? INT64_MAX : (int64_t)blocks);
		ret = localfs_db_exec(db, stmt, LOCALFS_QUOTA_SET, err);
	}
	if (ret == 0)
		ret = localfs_db_commit_write(db, err);
	else if (db->write_locked)
		localfs_db_rollback_write(db);
	localfs_pool_put(&c);
	return ret;
}

/* ---- a user's session ---- */

static void localfs_user_close(void *user)
{
	struct localfs_user *u = user;

	if (u == NULL)
		return;
	localfs_shared_unref(u->st, &u->shared);
	free(u->dir);
	free(u->name);
	free(u);
}

/* 1 when deleted messages await their clean-up (a crash came before it). */
static int localfs_user_has_garbage(struct localfs_db *db)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_GC_ANY, NULL);
	int rc;

	if (stmt == NULL)
		return 0;
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW;
}

/* The handle keeps no connection: one is checked out here to learn the
   index's instance and to finish what a crash left, and checked in. */
static int localfs_user_open(void *state, const char *user, void **user_r,
			     struct vimap_storage_error *err)
{
	struct localfs_state *st = state;
	struct localfs_user *u;
	struct localfs_conn *c;
	int ret, garbage;

	if (localfs_check_user(user, "user_open", err) < 0)
		return -1;
	ret = localfs_is_enrolled(st, user, err);
	if (ret <= 0)
		return ret < 0 ? -1 : localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						   "user_open(%s) failed: not enrolled", user);
	u = xcalloc(1, sizeof(*u));
	u->st = st;
	u->name = xstrdup(user);
	u->dir = xasprintf("%s/%s", st->users_dir, user);
	u->shared = localfs_shared_ref(st, user);
	if (localfs_pool_get(u, &c, err) < 0) {
		localfs_fail(err, err->code, "user_open(%s) failed: %s", user, err->text);
		localfs_user_close(u);
		return -1;
	}
	u->instance = c->instance;
	localfs_file_clean_tmp(st, c->dirfd);
	garbage = localfs_user_has_garbage(&c->db);
	localfs_pool_put(&c);
	if (garbage)
		localfs_gc_schedule(st, u->shared);
	*user_r = u;
	return 0;
}

static const struct vimap_storage_ops localfs_ops = {
	.size = sizeof(struct vimap_storage_ops),
	.init = localfs_init,
	.deinit = localfs_deinit,
	.is_enrolled = localfs_is_enrolled,
	.enroll = localfs_enroll,
	.unenroll = localfs_unenroll,
	.quota_get = localfs_quota_get,
	.quota_set = localfs_quota_set,
	.user_open = localfs_user_open,
	.user_close = localfs_user_close,
	.mailbox_list = localfs_mailbox_list,
	.mailbox_create = localfs_mailbox_create,
	.mailbox_delete = localfs_mailbox_delete,
	.mailbox_rename = localfs_mailbox_rename,
	.mailbox_status = localfs_mailbox_status,
	.subscribe = localfs_mailbox_subscribe,
	.subscriptions = localfs_mailbox_subscriptions,
	.append = localfs_append,
	.mailbox_open = localfs_box_open,
	.mailbox_close = localfs_box_close,
	.mailbox_sync = localfs_box_sync,
	.claim_recent = localfs_box_claim_recent,
	.fetch = localfs_box_fetch,
	.open_message = localfs_box_open_message,
	.close_message = localfs_box_close_message,
	.store = localfs_store,
	.expunge = localfs_expunge,
	.copy = localfs_copy,
	.acl_list = localfs_acl_list,
	.acl_set = localfs_acl_set,
	.link_set = localfs_link_set,
	.link_list = localfs_link_list,
	.check_format = localfs_check_format,
	.upgrade = localfs_upgrade,
	.append_once = localfs_append_once,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_STORAGE, "localfs", PACKAGE_VERSION, &localfs_ops);
