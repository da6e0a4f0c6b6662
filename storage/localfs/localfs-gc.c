/* localfs: clean-up after deleted messages.  The transaction that deletes a
 * message row also queues its file id in `garbage` (a trigger); after the
 * commit a clean-up unlinks the file, deletes the cache blob and then the
 * garbage row, in batches.  It runs on the kernel's worker pool (on a
 * connection of the pool) so EXPUNGE returns as soon as its rows are
 * durably gone; without a worker pool (tests, tools) it runs at once, in
 * the call that asked for it.  A crash anywhere leaves garbage rows that
 * the next user_open schedules again; unlinking twice is harmless. */
#include "autoconfig.h"
#include <stdlib.h>
#include "localfs-private.h"
#include "xalloc.h"

struct localfs_gc_job {
	struct localfs_state *st;
	struct localfs_shared *shared;   /* referenced */
};

/* Reads up to LOCALFS_GC_BATCH garbage ids; their count, or -1. */
static int localfs_gc_list(struct localfs_db *db, uint64_t *ids,
			   struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_GC_LIST, err);
	int rc, n = 0;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int(stmt, 1, LOCALFS_GC_BATCH);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < LOCALFS_GC_BATCH)
		ids[n++] = (uint64_t)sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return localfs_db_fail(db, rc, "sqlite3_step", "list garbage", err);
	return n;
}

/* Deletes the cache blobs and garbage rows of ids (files already gone). */
static int localfs_gc_forget(struct localfs_db *db, const uint64_t *ids, int n,
			     struct vimap_storage_error *err)
{
	static const enum localfs_stmt which[2] = { LOCALFS_GC_CACHE_DEL, LOCALFS_GC_DEL };
	int i, k;

	if (localfs_db_begin_write(db, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		for (k = 0; k < 2; k++) {
			sqlite3_stmt *stmt = localfs_db_stmt(db, which[k], err);

			if (stmt == NULL)
				goto fail;
			sqlite3_bind_int64(stmt, 1, (int64_t)ids[i]);
			if (localfs_db_exec(db, stmt, which[k], err) < 0)
				goto fail;
		}
	}
	return localfs_db_commit_write(db, err);
fail:
	localfs_db_rollback_write(db);
	return -1;
}

/* Empties the garbage of one index. */
static int localfs_gc_collect(struct localfs_state *st, struct localfs_db *db, int dirfd,
			      struct vimap_storage_error *err)
{
	uint64_t *ids = xmalloc(LOCALFS_GC_BATCH * sizeof(*ids));
	int n, ret = 0;

	do {
		n = localfs_gc_list(db, ids, err);
		if (n <= 0) {
			ret = n;
			break;
		}
		/* Files first: a crash between leaves rows to unlink again. */
		localfs_file_unlink(st, dirfd, ids, (unsigned)n);
		ret = localfs_gc_forget(db, ids, n, err);
		if (ret == 0)
			localfs_count(st, st->ctr_cleaned, n);
	} while (ret == 0 && n == LOCALFS_GC_BATCH);
	free(ids);
	return ret;
}

/* Runs collect until no more garbage was announced meanwhile, then marks
   the user idle. */
static void localfs_gc_loop(struct localfs_state *st, struct localfs_shared *sh,
			    struct localfs_db *db, int dirfd)
{
	struct vimap_storage_error err = { 0, NULL };

	for (;;) {
		if (localfs_gc_collect(st, db, dirfd, &err) < 0)
			localfs_log(st, VIMAP_LOG_WARNING, "clean-up of %s failed: %s", sh->user,
				    err.text);
		pthread_mutex_lock(&sh->lock);
		if (sh->gc_state == LOCALFS_GC_AGAIN) {
			sh->gc_state = LOCALFS_GC_RUNNING;
			pthread_mutex_unlock(&sh->lock);
			continue;
		}
		sh->gc_state = LOCALFS_GC_IDLE;
		pthread_mutex_unlock(&sh->lock);
		return;
	}
}

static void localfs_gc_done(struct localfs_state *st)
{
	pthread_mutex_lock(&st->gc_lock);
	st->gc_pending--;
	pthread_cond_broadcast(&st->gc_cond);
	pthread_mutex_unlock(&st->gc_lock);
}

/* Cleans sh's index on a connection of the pool. */
static void localfs_gc_run(struct localfs_state *st, struct localfs_shared *sh)
{
	struct vimap_storage_error err = { 0, NULL };
	struct localfs_conn *c;

	if (localfs_pool_get_shared(st, sh, 0, &c, &err) == 0) {
		localfs_gc_loop(st, sh, &c->db, c->dirfd);
		localfs_pool_put(&c);
		return;
	}
	/* Unenrolled meanwhile, most likely: nothing left to clean. */
	localfs_log(st, VIMAP_LOG_DEBUG, "clean-up of %s skipped: %s", sh->user, err.text);
	pthread_mutex_lock(&sh->lock);
	sh->gc_state = LOCALFS_GC_IDLE;
	pthread_mutex_unlock(&sh->lock);
}

/* The worker pool's job. */
static void localfs_gc_job_run(void *arg)
{
	struct localfs_gc_job *job = arg;
	struct localfs_state *st = job->st;

	localfs_gc_run(st, job->shared);
	localfs_shared_unref(st, &job->shared);
	free(job);
	localfs_gc_done(st);
}

void localfs_gc_schedule(struct localfs_state *st, struct localfs_shared *sh)
{
	struct localfs_gc_job *job;
	const char *error = NULL;

	pthread_mutex_lock(&sh->lock);
	if (sh->gc_state != LOCALFS_GC_IDLE) {
		sh->gc_state = LOCALFS_GC_AGAIN;
		pthread_mutex_unlock(&sh->lock);
		return;
	}
	sh->gc_state = LOCALFS_GC_RUNNING;
	pthread_mutex_unlock(&sh->lock);
	job = xcalloc(1, sizeof(*job));
	job->st = st;
	job->shared = localfs_shared_ref(st, sh->user);
	pthread_mutex_lock(&st->gc_lock);
	st->gc_pending++;
	pthread_mutex_unlock(&st->gc_lock);
	if (st->host->submit(st->ctx, localfs_gc_job_run, job, &error) == 0)
		return;
	/* No worker pool: clean up now. */
	localfs_shared_unref(st, &job->shared);
	free(job);
	localfs_gc_done(st);
	localfs_gc_run(st, sh);
}

void localfs_gc_wait(struct localfs_state *st)
{
	pthread_mutex_lock(&st->gc_lock);
	while (st->gc_pending > 0)
		pthread_cond_wait(&st->gc_cond, &st->gc_lock);
	pthread_mutex_unlock(&st->gc_lock);
}
