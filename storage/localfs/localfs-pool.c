/* localfs: the process-wide pool of open indexes.
 *
 * A session that sits idle for hours must cost next to nothing, so user and
 * box handles hold no SQLite connection: each call checks one out of this
 * pool and back in before it returns.  Idle connections are kept per user
 * (shared->idle, newest first) and on one LRU list for the whole process;
 * while more than `max_open_indexes` connections are open (idle or checked
 * out), the least recently used idle ones are closed.  A checked-out
 * connection belongs to one thread; when every cached connection of a user
 * is out (two sessions at work, or a call made from inside another call's
 * callback), another one is opened: no call ever waits for a connection,
 * so nesting cannot deadlock, and the bound is exceeded only while more
 * calls run at once than it allows.
 *
 * An idle connection holds its schema, the statements of frequent calls and
 * a reference on its user's shared record; the other statements and its
 * page cache are given back at check-in (localfs_db_trim: the index is
 * memory-mapped, so pages come back cheaply).
 *
 * After fork() the child must not touch its parent's connections: the pool
 * notices the new process id and forgets them (without closing them, which
 * could checkpoint the parent's WAL). */
#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "localfs-private.h"
#include "xalloc.h"

/* Under registry_lock: the connections belong to another process (we are
   a forked child); forget them all. */
static void localfs_pool_check_pid(struct localfs_state *st)
{
	struct localfs_conn *c;

	if (st->pool_pid == getpid())
		return;
	for (c = st->lru_head; c != NULL; c = c->lru_next)
		c->shared->idle = NULL;
	st->lru_head = st->lru_tail = NULL;
	st->pool_open = st->pool_idle = 0;
	st->pool_pid = getpid();
}

/* Under registry_lock: takes idle connection c off both lists. */
static void localfs_pool_unlink(struct localfs_state *st, struct localfs_conn *c)
{
	struct localfs_conn **pp;

	for (pp = &c->shared->idle; *pp != NULL; pp = &(*pp)->idle_next) {
		if (*pp == c) {
			*pp = c->idle_next;
			break;
		}
	}
	c->idle_next = NULL;
	if (c->lru_prev != NULL)
		c->lru_prev->lru_next = c->lru_next;
	else
		st->lru_head = c->lru_next;
	if (c->lru_next != NULL)
		c->lru_next->lru_prev = c->lru_prev;
	else
		st->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
	st->pool_idle--;
}

/* Under registry_lock: unlinks the oldest idle connections while too many
   are open; returns them chained by idle_next, to close after unlocking. */
static struct localfs_conn *localfs_pool_trim(struct localfs_state *st)
{
	struct localfs_conn *out = NULL, *c;

	while (st->pool_open > st->max_open && (c = st->lru_tail) != NULL) {
		localfs_pool_unlink(st, c);
		st->pool_open--;
		c->idle_next = out;
		out = c;
	}
	return out;
}

/* Closes connection c (not on any list, not counted any more). */
static void localfs_pool_close(struct localfs_conn *c)
{
	localfs_db_close(&c->db);
	if (c->dirfd >= 0)
		close(c->dirfd);
	localfs_shared_unref(c->st, &c->shared);
	free(c);
}

/* Closes a chain from localfs_pool_trim(); outside registry_lock. */
static void localfs_pool_close_chain(struct localfs_conn *c)
{
	while (c != NULL) {
		struct localfs_conn *next = c->idle_next;

		localfs_pool_close(c);
		c = next;
	}
}

/* Opens a new connection to sh's index: its directory, the index, the
   format check.  Counted in pool_open by the caller. */
static struct localfs_conn *localfs_pool_open(struct localfs_state *st,
					      struct localfs_shared *sh, unsigned generation,
					      struct vimap_storage_error *err)
{
	struct localfs_conn *c = xcalloc(1, sizeof(*c));
	char *dir = xasprintf("%s/%s", st->users_dir, sh->user);
	char *path = xasprintf("%s/index.db", dir);
	int ret = -1;

	c->st = st;
	c->generation = generation;
	c->shared = localfs_shared_ref(st, sh->user);
	c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0)
		localfs_fail(err, errno == ENOENT ? VIMAP_STORAGE_ERR_NONEXISTENT
			     : localfs_errno_code(errno), "open(%s) failed: %s", dir,
			     errno == ENOENT ? "not enrolled" : strerror(errno));
	else if (localfs_db_open(&c->db, path, 0, st->fsync, c->shared, err) == 0)
		ret = localfs_db_check_version(&c->db, path, &c->instance, err);
	free(path);
	free(dir);
	if (ret < 0) {
		localfs_pool_close(c);
		return NULL;
	}
	return c;
}

int localfs_pool_get_shared(struct localfs_state *st, struct localfs_shared *sh,
			    int64_t instance, struct localfs_conn **conn_r,
			    struct vimap_storage_error *err)
{
	struct localfs_conn *c, *closing = NULL;
	unsigned generation;

	pthread_mutex_lock(&st->registry_lock);
	localfs_pool_check_pid(st);
	c = sh->idle;
	if (c != NULL) {
		localfs_pool_unlink(st, c);
	} else {
		st->pool_open++;
		closing = localfs_pool_trim(st);
	}
	generation = sh->generation;
	pthread_mutex_unlock(&st->registry_lock);
	localfs_pool_close_chain(closing);
	if (c == NULL && (c = localfs_pool_open(st, sh, generation, err)) == NULL) {
		pthread_mutex_lock(&st->registry_lock);
		st->pool_open--;
		pthread_mutex_unlock(&st->registry_lock);
		return -1;
	}
	if (instance != 0 && c->instance != instance) {
		localfs_pool_put(&c);
		return localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT, "user %s was removed "
				    "(and enrolled again) after this session began", sh->user);
	}
	*conn_r = c;
	return 0;
}

int localfs_pool_get(struct localfs_user *u, struct localfs_conn **conn_r,
		     struct vimap_storage_error *err)
{
	return localfs_pool_get_shared(u->st, u->shared, u->instance, conn_r, err);
}

void localfs_pool_put(struct localfs_conn **connp)
{
	struct localfs_conn *c = *connp, *closing;
	struct localfs_state *st;

	*connp = NULL;
	if (c == NULL)
		return;
	st = c->st;
	/* Only a bug leaves a transaction open; never cache one. */
	if (c->db.write_locked)
		localfs_db_rollback_write(&c->db);
	else if (!sqlite3_get_autocommit(c->db.db))
		localfs_db_end_read(&c->db);
	localfs_db_trim(&c->db);
	pthread_mutex_lock(&st->registry_lock);
	localfs_pool_check_pid(st);
	if (c->generation != c->shared->generation) {
		/* Its index was removed: close it. */
		st->pool_open--;
		pthread_mutex_unlock(&st->registry_lock);
		localfs_pool_close(c);
		return;
	}
	c->idle_next = c->shared->idle;
	c->shared->idle = c;
	c->lru_prev = NULL;
	c->lru_next = st->lru_head;
	if (st->lru_head != NULL)
		st->lru_head->lru_prev = c;
	else
		st->lru_tail = c;
	st->lru_head = c;
	st->pool_idle++;
	closing = localfs_pool_trim(st);
	pthread_mutex_unlock(&st->registry_lock);
	localfs_pool_close_chain(closing);
}

void localfs_pool_invalidate(struct localfs_state *st, struct localfs_shared *sh)
{
	struct localfs_conn *closing = NULL, *c;

	pthread_mutex_lock(&st->registry_lock);
	localfs_pool_check_pid(st);
	sh->generation++;
	while ((c = sh->idle) != NULL) {
		localfs_pool_unlink(st, c);
		st->pool_open--;
		c->idle_next = closing;
		closing = c;
	}
	pthread_mutex_unlock(&st->registry_lock);
	localfs_pool_close_chain(closing);
}

void localfs_pool_flush(struct localfs_state *st)
{
	struct localfs_conn *closing = NULL, *c;

	pthread_mutex_lock(&st->registry_lock);
	localfs_pool_check_pid(st);
	while ((c = st->lru_tail) != NULL) {
		localfs_pool_unlink(st, c);
		st->pool_open--;
		c->idle_next = closing;
		closing = c;
	}
	pthread_mutex_unlock(&st->registry_lock);
	localfs_pool_close_chain(closing);
}
