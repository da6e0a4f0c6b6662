/* storage plugin `sfs`: the shared filepool on PostgreSQL (sfs-private.h
 * has the schema and the locking rules).  This file: set-up, administration
 * (enrol, unenrol, quota), user handles and the ops table.
 *
 * Configuration (`plugins: sfs:`; the filepool id is the libpq connection
 * string, e.g. filepoolid: "host=/run/postgresql dbname=vimap"):
 *   pool_size: 8           idle database connections kept per process
 *   max_connections: 64    connections open at most per process (a call
 *                          beyond it waits up to 10 s, then UNAVAILABLE)
 *   notify: true           NOTIFY other vimapd processes of each change and
 *                          LISTEN for theirs (needed when more than one
 *                          process serves the filepool)
 *   tablespaces: "2=fast 7=archive"
 *                          storage group GROUP's message bodies live in
 *                          PostgreSQL tablespace NAME (applied by `vimap
 *                          upgrade-store`; the host's configuration has
 *                          scalars only, hence one string)
 *
 * init never connects: a database that is down (or an old schema) does not
 * stop the plugin from loading; calls then fail UNAVAILABLE until it is
 * back, and check_format says what is wrong. */
#include "autoconfig.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "error.h"
#include "sfs-private.h"
#include "xalloc.h"

static const char *const sfs_keys[] = {
	"pool_size", "max_connections", "notify", "tablespaces", NULL
};

void sfs_log(struct sfs_state *st, enum vimap_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	st->host->log(st->ctx, level, "%s", buf);
}

uint64_t sfs_blocks(uint64_t size)
{
	return (size + SFS_BLOCK_SIZE - 1) / SFS_BLOCK_SIZE;
}

static int sfs_check_user(const char *user, const char *call, struct vimap_storage_error *err)
{
	size_t len = strlen(user);

	if (len == 0 || len > 64 || strcmp(user, ".") == 0 || strcmp(user, "..") == 0 ||
	    strspn(user, "abcdefghijklmnopqrstuvwxyz0123456789._-+@") != len)
		return sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
				"%s(%s) failed: not a canonical user id", call, user);
	return 0;
}

/* ---- set-up ---- */

static int sfs_read_config(struct sfs_state *st, const char **error_r)
{
	const struct vimap_host *host = st->host;
	long long pool_size, max_conns;
	const char *spaces;

	if (host->config_check_keys(st->ctx, sfs_keys, error_r) < 0 ||
	    host->config_int(st->ctx, "pool_size", SFS_POOL_SIZE, 0, 1000, &pool_size,
			     error_r) < 0 ||
	    host->config_int(st->ctx, "max_connections", SFS_MAX_CONNECTIONS, 1, 10000,
			     &max_conns, error_r) < 0 ||
	    host->config_bool(st->ctx, "notify", 1, &st->notify, error_r) < 0 ||
	    host->config_string(st->ctx, "tablespaces", "", &spaces, error_r) < 0 ||
	    sfs_schema_check_tablespaces(spaces, error_r) < 0)
		return -1;
	st->pool_size = (unsigned)pool_size;
	st->max_conns = (unsigned)max_conns;
	st->tablespaces = xstrdup(spaces);
	return 0;
}

static void sfs_free_state(struct sfs_state *st)
{
	sfs_cache_free(&st->cache);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st->tablespaces);
	free(st->conninfo);
	free(st);
}

static int sfs_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
		    void **state_r, const char **error_r)
{
	const char *conninfo = host->setting(ctx, "filepoolid");
	struct sfs_state *st;
	uint64_t node = 0;
	char *pq_error = NULL;
	PQconninfoOption *opts;

	if (conninfo == NULL || *conninfo == '\0')
		return error_set(error_r, "filepoolid is empty: it must be a PostgreSQL "
				 "connection string");
	if ((opts = PQconninfoParse(conninfo, &pq_error)) == NULL) {
		error_set(error_r, "filepoolid is no PostgreSQL connection string: %s",
			  pq_error != NULL ? pq_error : "out of memory");
		PQfreemem(pq_error);
		return -1;
	}
	PQconninfoFree(opts);
	if (!PQisthreadsafe())
		return error_set(error_r, "PQisthreadsafe() failed: libpq is built without "
				 "thread support");
	st = xcalloc(1, sizeof(*st));
	st->ctx = ctx;
	st->host = host;
	st->conninfo = xstrdup(conninfo);
	st->pid = getpid();
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	st->cache = sfs_cache_new(SFS_CACHE_BYTES);
	if (getrandom(&node, sizeof(node), 0) != (ssize_t)sizeof(node))
		node = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	snprintf(st->node, sizeof(st->node), "%016llx", (unsigned long long)node);
	if (sfs_read_config(st, error_r) < 0 ||
	    (st->notify && sfs_notify_start(st, error_r) < 0)) {
		sfs_free_state(st);
		return -1;
	}
	host->log(ctx, VIMAP_LOG_INFO, "filepool on PostgreSQL (pool %u, at most %u "
		  "connections, notify %s)", st->pool_size, st->max_conns,
		  st->notify ? "on" : "off");
	*state_r = st;
	return 0;
}

static void sfs_deinit(void *state)
{
	struct sfs_state *st = state;

	sfs_notify_stop(st);
	sfs_pool_flush(st);
	sfs_free_state(st);
}

/* ---- administration ---- */

/* The user's row: 1 found (id, group, limit, used), 0 not, -1 error; on
   connection c (in a transaction), or when c is NULL in one statement on a
   connection of its own. */
static int sfs_user_row(struct sfs_state *st, struct sfs_conn *c, const char *user,
			int64_t *id_r, unsigned *group_r, uint64_t *limit_r, uint64_t *used_r,
			struct vimap_storage_error *err)
{
	struct sfs_conn *own = NULL;
	struct sfs_params p;
	PGresult *res;
	int found;

	sfs_p_init(&p);
	sfs_p_text(&p, user);
	if (c != NULL)
		res = sfs_exec(c, SFS_USER_GET, &p, 0, err);
	else if (sfs_query(st, &own, SFS_USER_GET, &p, 0, &res, err) < 0)
		return -1;
	if (res == NULL)
		return -1;
	found = PQntuples(res) > 0;
	if (found) {
		*id_r = sfs_get_int(res, 0, 0);
		if (group_r != NULL)
			*group_r = (unsigned)sfs_get_int(res, 0, 1);
		if (limit_r != NULL)
			*limit_r = (uint64_t)sfs_get_int(res, 0, 2);
		if (used_r != NULL)
			*used_r = (uint64_t)sfs_get_int(res, 0, 3);
	}
	PQclear(res);
	sfs_pool_put(st, &own);
	return found;
}

static int sfs_is_enrolled(void *state, const char *user, struct vimap_storage_error *err)
{
	int64_t id;

	if (sfs_check_user(user, "is_enrolled", err) < 0)
		return 0;
	return sfs_user_row(state, NULL, user, &id, NULL, NULL, NULL, err);
}

static int sfs_enroll_in(struct sfs_conn *c, const char *user, uint64_t blocks,
			 unsigned group, struct vimap_storage_error *err)
{
	struct sfs_params p;
	PGresult *res;
	int64_t id;
	unsigned i;

	sfs_p_init(&p);
	sfs_p_text(&p, user);
	sfs_p_int(&p, blocks > INT64_MAX ? INT64_MAX : (int64_t)blocks);
	sfs_p_int(&p, group);
	if ((res = sfs_exec(c, SFS_USER_INSERT, &p, 0, err)) == NULL)
		return -1;
	id = PQntuples(res) > 0 ? sfs_get_int(res, 0, 0) : 0;
	PQclear(res);
	if (id == 0)
		return sfs_fail(err, VIMAP_STORAGE_ERR_EXISTS, "enroll(%s) failed: already "
				"enrolled", user);
	for (i = 0; i < storage_default_mailbox_count; i++) {
		if (sfs_mailbox_create_in(c, id, storage_default_mailboxes[i].name,
					  storage_default_mailboxes[i].special_use, NULL, err) < 0)
			return -1;
	}
	return 0;
}

static int sfs_enroll(void *state, const char *user, uint64_t blocks,
		      unsigned storage_group, struct vimap_storage_error *err)
{
	struct sfs_state *st = state;
	struct sfs_conn *c;

	if (sfs_check_user(user, "enroll", err) < 0)
		return -1;
	if (sfs_begin(st, 0, &c, err) < 0)
		return -1;
	return sfs_end(st, &c, sfs_enroll_in(c, user, blocks, storage_group, err), err);
}

static int sfs_unenroll(void *state, const char *user, struct vimap_storage_error *err)
{
	struct sfs_state *st = state;
	struct sfs_params p;
	struct sfs_conn *c;
	PGresult *res;
	int ret = 0;

	if (sfs_check_user(user, "unenroll", err) < 0)
		return -1;
	if (sfs_begin(st, 0, &c, err) < 0)
		return -1;
	sfs_p_init(&p);
	sfs_p_text(&p, user);
	/* The cascade removes the mailboxes, messages, bodies and the rest. */
	if ((res = sfs_exec(c, SFS_USER_DELETE, &p, 0, err)) == NULL)
		ret = -1;
	else if (PQntuples(res) == 0)
		ret = sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT, "unenroll(%s) failed: not "
			       "enrolled", user);
	PQclear(res);
	return sfs_end(st, &c, ret, err);
}

static int sfs_quota_get(void *state, const char *user, uint64_t *limit_r,
			 uint64_t *used_r, struct vimap_storage_error *err)
{
	int64_t id;
	int found;

	if (sfs_check_user(user, "quota_get", err) < 0)
		return -1;
	found = sfs_user_row(state, NULL, user, &id, NULL, limit_r, used_r, err);
	if (found == 0)
		return sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT, "quota_get(%s) failed: "
				"not enrolled", user);
	return found < 0 ? -1 : 0;
}

static int sfs_quota_set_in(struct sfs_conn *c, const char *user, uint64_t blocks, int force,
			    struct vimap_storage_error *err)
{
	struct sfs_user u = { NULL, (char *)user, 0, 0 };
	uint64_t limit, used;
	struct sfs_params p;
	int found;

	found = sfs_user_row(NULL, c, user, &u.id, NULL, &limit, &used, err);
	if (found <= 0)
		return found < 0 ? -1 : sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						 "quota_set(%s) failed: not enrolled", user);
	if (sfs_db_lock_user(c, &u, "quota_set", err) < 0 ||
	    sfs_user_row(NULL, c, user, &u.id, NULL, &limit, &used, err) < 0)
		return -1;
	if (blocks < used && !force)
		return sfs_fail(err, VIMAP_STORAGE_ERR_CANNOT, "quota_set(%s) failed: %llu "
				"blocks are in use, more than %llu", user,
				(unsigned long long)used, (unsigned long long)blocks);
	sfs_p_init(&p);
	sfs_p_int(&p, u.id);
	sfs_p_int(&p, blocks > INT64_MAX ? INT64_MAX : (int64_t)blocks);
	return sfs_run(c, SFS_USER_QUOTA_SET, &p, err);
}

static int sfs_quota_set(void *state, const char *user, uint64_t blocks, int force,
			 struct vimap_storage_error *err)
{
	struct sfs_state *st = state;
	struct sfs_conn *c;

	if (sfs_check_user(user, "quota_set", err) < 0)
		return -1;
	if (sfs_begin(st, 0, &c, err) < 0)
		return -1;
	return sfs_end(st, &c, sfs_quota_set_in(c, user, blocks, force, err), err);
}

/* ---- user handles ---- */

static void sfs_user_close(void *user)
{
	struct sfs_user *u = user;

	if (u == NULL)
		return;
	free(u->name);
	free(u);
}

static int sfs_user_open(void *state, const char *user, void **user_r,
			 struct vimap_storage_error *err)
{
	struct sfs_state *st = state;
	struct sfs_user *u;
	unsigned group = 0;
	int64_t id = 0;
	int found;

	if (sfs_check_user(user, "user_open", err) < 0)
		return -1;
	found = sfs_user_row(st, NULL, user, &id, &group, NULL, NULL, err);
	if (found <= 0)
		return found < 0 ? -1 : sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						 "user_open(%s) failed: not enrolled", user);
	u = xcalloc(1, sizeof(*u));
	u->st = st;
	u->name = xstrdup(user);
	u->id = id;
	u->group = group;
	*user_r = u;
	return 0;
}

static const struct vimap_storage_ops sfs_ops = {
	.size = sizeof(struct vimap_storage_ops),
	.init = sfs_init,
	.deinit = sfs_deinit,
	.is_enrolled = sfs_is_enrolled,
	.enroll = sfs_enroll,
	.unenroll = sfs_unenroll,
	.quota_get = sfs_quota_get,
	.quota_set = sfs_quota_set,
	.user_open = sfs_user_open,
	.user_close = sfs_user_close,
	.mailbox_list = sfs_mailbox_list,
	.mailbox_create = sfs_mailbox_create,
	.mailbox_delete = sfs_mailbox_delete,
	.mailbox_rename = sfs_mailbox_rename,
	.mailbox_status = sfs_mailbox_status,
	.subscribe = sfs_mailbox_subscribe,
	.subscriptions = sfs_mailbox_subscriptions,
	.append = sfs_append,
	.mailbox_open = sfs_box_open,
	.mailbox_close = sfs_box_close,
	.mailbox_sync = sfs_box_sync,
	.claim_recent = sfs_box_claim_recent,
	.fetch = sfs_box_fetch,
	.open_message = sfs_box_open_message,
	.close_message = sfs_box_close_message,
	.store = sfs_store,
	.expunge = sfs_expunge,
	.copy = sfs_copy,
	.acl_list = sfs_acl_list,
	.acl_set = sfs_acl_set,
	.link_set = sfs_link_set,
	.link_list = sfs_link_list,
	.check_format = sfs_schema_check_format,
	.upgrade = sfs_schema_upgrade,
	.append_once = sfs_append_once,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_STORAGE, "sfs", PACKAGE_VERSION, &sfs_ops);
