/* sfs: the versioned schema.  Only the `upgrade` op (`vimap upgrade-store`)
 * creates or changes it; `check_format` (vimapd at start-up) only reads
 * vimap_meta.format_version.
 *
 * Tables are named without a schema, so the connection's search_path
 * chooses where they live: several filepools can share one database, each
 * in its own schema ("options=-csearch_path=pool2" in the connection
 * string).
 *
 * Upgrade runs in ONE transaction (PostgreSQL's DDL is transactional) under
 * an advisory lock: interrupted, it leaves the store as it was; run again,
 * it does the whole job.  Steps:
 *   format 0 (no vimap_meta) -> 1: create everything.
 *   every run: a vimap_chunks partition in its tablespace for each
 *   `tablespaces` entry of the configuration, the group's existing chunks
 *   moved into it (and moved again when the entry names another tablespace).
 *
 * Bodies: a message's bytes are rows of vimap_chunks (SFS_CHUNK octets each,
 * STORAGE EXTERNAL: not compressed, as a file would not be), so neither the
 * server nor a client ever handles a 50 MB message as one value. */
#include "autoconfig.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "sfs-private.h"
#include "strbuf.h"
#include "xalloc.h"

/* Any constant: the key of the advisory lock that serializes upgrades. */
#define SFS_UPGRADE_LOCK 0x76696d6170ll

static const char sfs_schema_v1[] =
	"CREATE TABLE vimap_meta (key text PRIMARY KEY, value text NOT NULL);"
	"CREATE TABLE vimap_users (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE,"
	" limit_blocks bigint NOT NULL, used_bytes bigint NOT NULL DEFAULT 0,"
	" used_blocks bigint NOT NULL DEFAULT 0, storage_group integer NOT NULL,"
	" last_uidvalidity bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE vimap_mailboxes (id bigserial PRIMARY KEY,"
	" user_id bigint NOT NULL REFERENCES vimap_users (id) ON DELETE CASCADE,"
	" name text COLLATE \"C\" NOT NULL, uidvalidity bigint NOT NULL,"
	" uidnext bigint NOT NULL DEFAULT 1, highestmodseq bigint NOT NULL DEFAULT 1,"
	" first_recent_uid bigint NOT NULL DEFAULT 1, special_use integer NOT NULL DEFAULT 0,"
	" noselect smallint NOT NULL DEFAULT 0, messages bigint NOT NULL DEFAULT 0,"
	" unseen bigint NOT NULL DEFAULT 0, size bigint NOT NULL DEFAULT 0,"
	" UNIQUE (user_id, name));"
	"CREATE TABLE vimap_bodies (id bigserial PRIMARY KEY,"
	" user_id bigint NOT NULL REFERENCES vimap_users (id) ON DELETE CASCADE,"
	" storage_group integer NOT NULL, size bigint NOT NULL,"
	" refs integer NOT NULL DEFAULT 0);"
	"CREATE INDEX vimap_bodies_user ON vimap_bodies (user_id);"
	"CREATE TABLE vimap_chunks (storage_group integer NOT NULL,"
	" body_id bigint NOT NULL REFERENCES vimap_bodies (id) ON DELETE CASCADE,"
	" seq integer NOT NULL, data bytea NOT NULL,"
	" PRIMARY KEY (body_id, seq, storage_group)) PARTITION BY LIST (storage_group);"
	"CREATE TABLE vimap_chunks_default PARTITION OF vimap_chunks DEFAULT;"
	"ALTER TABLE vimap_chunks ALTER COLUMN data SET STORAGE EXTERNAL;"
	"CREATE TABLE vimap_messages (mailbox_id bigint NOT NULL"
	" REFERENCES vimap_mailboxes (id) ON DELETE CASCADE, uid bigint NOT NULL,"
	" body_id bigint NOT NULL, flags integer NOT NULL, keywords text NOT NULL,"
	" modseq bigint NOT NULL, internal_date bigint NOT NULL, tz_offset integer NOT NULL,"
	" size bigint NOT NULL, cache bytea, PRIMARY KEY (mailbox_id, uid));"
	"CREATE INDEX vimap_messages_modseq ON vimap_messages (mailbox_id, modseq);"
	"CREATE TABLE vimap_expunged (mailbox_id bigint NOT NULL"
	" REFERENCES vimap_mailboxes (id) ON DELETE CASCADE, uid bigint NOT NULL,"
	" modseq bigint NOT NULL, PRIMARY KEY (mailbox_id, uid));"
	"CREATE TABLE vimap_subscriptions (user_id bigint NOT NULL"
	" REFERENCES vimap_users (id) ON DELETE CASCADE, name text COLLATE \"C\" NOT NULL,"
	" PRIMARY KEY (user_id, name));"
	"CREATE TABLE vimap_acl (mailbox_id bigint NOT NULL"
	" REFERENCES vimap_mailboxes (id) ON DELETE CASCADE, identifier text NOT NULL,"
	" rights text NOT NULL, PRIMARY KEY (mailbox_id, identifier));"
	"CREATE TABLE vimap_deliveries (user_id bigint NOT NULL"
	" REFERENCES vimap_users (id) ON DELETE CASCADE, delivery_id text NOT NULL,"
	" mailbox_id bigint NOT NULL, uid bigint NOT NULL, at bigint NOT NULL,"
	" PRIMARY KEY (user_id, delivery_id));"
	"CREATE INDEX vimap_deliveries_at ON vimap_deliveries (user_id, at);"
	"CREATE TABLE vimap_links (user_id bigint NOT NULL"
	" REFERENCES vimap_users (id) ON DELETE CASCADE, name text COLLATE \"C\" NOT NULL,"
	" owner text NOT NULL, owner_mailbox text NOT NULL, PRIMARY KEY (user_id, name));"
	/* Bodies are shared by copies: a count of the messages using each,
	   kept per statement, and a body nobody uses goes (with its chunks). */
	"CREATE FUNCTION vimap_body_refs_add() RETURNS trigger LANGUAGE plpgsql AS $f$"
	" BEGIN UPDATE vimap_bodies b SET refs = b.refs + n.c"
	" FROM (SELECT body_id, count(*) AS c FROM new_rows GROUP BY body_id) n"
	" WHERE b.id = n.body_id; RETURN NULL; END $f$;"
	"CREATE FUNCTION vimap_body_refs_drop() RETURNS trigger LANGUAGE plpgsql AS $f$"
	" BEGIN UPDATE vimap_bodies b SET refs = b.refs - o.c"
	" FROM (SELECT body_id, count(*) AS c FROM old_rows GROUP BY body_id) o"
	" WHERE b.id = o.body_id;"
	" DELETE FROM vimap_bodies WHERE id IN (SELECT body_id FROM old_rows) AND refs <= 0;"
	" RETURN NULL; END $f$;"
	"CREATE TRIGGER vimap_messages_refs_add AFTER INSERT ON vimap_messages"
	" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
	" EXECUTE FUNCTION vimap_body_refs_add();"
	"CREATE TRIGGER vimap_messages_refs_drop AFTER DELETE ON vimap_messages"
	" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
	" EXECUTE FUNCTION vimap_body_refs_drop();"
	/* The keywords after a STORE: mode 0 replaces, 1 adds, 2 removes;
	   first spelling wins, compared without ASCII case (sfs_db_keywords()
	   is the same in C). */
	"CREATE FUNCTION vimap_kw(old text, mode integer, arg text) RETURNS text"
	" LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$"
	" SELECT coalesce(string_agg(w, ' ' ORDER BY ord), '') FROM ("
	"  SELECT DISTINCT ON (lower(w)) w, ord FROM ("
	"   SELECT t.w, t.ord FROM unnest(string_to_array(CASE WHEN mode = 0 THEN ''"
	"    ELSE old END, ' ')) WITH ORDINALITY AS t(w, ord) WHERE t.w <> ''"
	"    AND NOT (mode = 2 AND lower(t.w) = ANY (string_to_array(lower(arg), ' ')))"
	"   UNION ALL"
	"   SELECT t.w, 1000000 + t.ord FROM unnest(string_to_array(CASE WHEN mode = 2"
	"    THEN '' ELSE arg END, ' ')) WITH ORDINALITY AS t(w, ord) WHERE t.w <> ''"
	"  ) x ORDER BY lower(w), ord) y $f$;"
	"INSERT INTO vimap_meta (key, value) VALUES ('format_version', '1');";

/* The format_version of the store: 0 when there is no schema. */
static int sfs_schema_version(PGconn *pg, long *version_r, struct vimap_storage_error *err)
{
	PGresult *res = PQexec(pg, "SELECT to_regclass('vimap_meta') IS NOT NULL");
	int exists;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		sfs_db_fail(pg, res, "look for vimap_meta", err);
		PQclear(res);
		return -1;
	}
	exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	*version_r = 0;
	if (!exists)
		return 0;
	res = PQexec(pg, "SELECT value FROM vimap_meta WHERE key = 'format_version'");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		sfs_db_fail(pg, res, "select format_version", err);
		PQclear(res);
		return -1;
	}
	if (PQntuples(res) > 0)
		*version_r = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int sfs_schema_check_spaces(struct sfs_state *st, struct vimap_storage_error *err);

int sfs_schema_check_format(void *state, struct vimap_storage_error *err)
{
	struct sfs_state *st = state;
	struct sfs_conn *c;
	long version;
	int ret;

	if (sfs_pool_get(st, &c, err) < 0)
		return -1;
	ret = sfs_schema_version(c->pg, &version, err);
	sfs_pool_put(st, &c);
	if (ret < 0)
		return -1;
	if (version == 0)
		return sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "store format 0 (no vimap schema "
				"in the database) is older than %d: run 'vimap upgrade-store'",
				SFS_FORMAT_VERSION);
	if (version < SFS_FORMAT_VERSION)
		return sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "store format %ld is older than "
				"%d: run 'vimap upgrade-store'", version, SFS_FORMAT_VERSION);
	if (version > SFS_FORMAT_VERSION)
		return sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "store format %ld is newer than "
				"%d, this build's: run a newer vimap", version, SFS_FORMAT_VERSION);
	return sfs_schema_check_spaces(st, err);
}

/* Calls fn(group, tablespace) for each "GROUP=NAME" of spec; stops at -1. */
static int sfs_schema_each_space(const char *spec,
				 int (*fn)(void *ctx, long group, const char *name),
				 void *ctx, const char **error_r)
{
	const char *p = spec != NULL ? spec : "";

	while (*p != '\0') {
		size_t n;
		char item[160], *eq, *end;
		long group;

		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, " ,");
		if (n == 0)
			break;
		if (n >= sizeof(item))
			return error_set(error_r, "tablespaces: entry '%.40s...' is too long", p);
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;
		eq = strchr(item, '=');
		group = eq != NULL ? strtol(item, &end, 10) : -1;
		if (eq == NULL || end != eq || eq == item || group < 0 || group > 65535 ||
		    eq[1] == '\0')
			return error_set(error_r, "tablespaces: '%s' is not GROUP=TABLESPACE "
					 "(a group number 0-65535)", item);
		if (fn != NULL && fn(ctx, group, eq + 1) < 0)
			return -1;
	}
	return 0;
}

int sfs_schema_check_tablespaces(const char *spec, const char **error_r)
{
	return sfs_schema_each_space(spec, NULL, NULL, error_r);
}

struct sfs_space_ctx {
	PGconn *pg;
	struct vimap_storage_error *err;
};

/* Gives group `group` a chunks partition in tablespace `name`. */
static int sfs_schema_space(void *ctx, long group, const char *name)
{
	struct sfs_space_ctx *s = ctx;
	char part[64], *ts, *sql;
	PGresult *res;
	int exists, ret;

	snprintf(part, sizeof(part), "vimap_chunks_g%ld", group);
	sql = xasprintf("SELECT to_regclass('%s') IS NOT NULL", part);
	res = PQexec(s->pg, sql);
	free(sql);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		sfs_db_fail(s->pg, res, "look for a chunks partition", s->err);
		PQclear(res);
		return -1;
	}
	exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if ((ts = PQescapeIdentifier(s->pg, name, strlen(name))) == NULL)
		return sfs_db_fail(s->pg, NULL, "escape a tablespace name", s->err);
	if (exists)
		sql = xasprintf("ALTER TABLE %s SET TABLESPACE %s", part, ts);
	else
		sql = xasprintf("CREATE TABLE %s (LIKE vimap_chunks INCLUDING STORAGE) "
				"TABLESPACE %s; INSERT INTO %s SELECT * FROM vimap_chunks_default "
				"WHERE storage_group = %ld; DELETE FROM vimap_chunks_default WHERE "
				"storage_group = %ld; ALTER TABLE vimap_chunks ATTACH PARTITION %s "
				"FOR VALUES IN (%ld)", part, ts, part, group, group, part, group);
	PQfreemem(ts);
	ret = sfs_exec_sql(s->pg, sql, "place a storage group in its tablespace", s->err);
	free(sql);
	return ret;
}

/* Whether group `group`'s chunks partition is in tablespace `name`. */
static int sfs_schema_space_ok(void *ctx, long group, const char *name)
{
	struct sfs_space_ctx *s = ctx;
	const char *values[1];
	char part[64];
	PGresult *res;
	int ok;

	snprintf(part, sizeof(part), "vimap_chunks_g%ld", group);
	values[0] = part;
	res = PQexecParams(s->pg, "SELECT coalesce(t.spcname, '') FROM pg_class c LEFT JOIN "
			   "pg_tablespace t ON t.oid = c.reltablespace WHERE c.oid = "
			   "to_regclass($1)", 1, NULL, values, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		sfs_db_fail(s->pg, res, "look for a chunks partition", s->err);
		PQclear(res);
		return -1;
	}
	ok = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), name) == 0;
	PQclear(res);
	if (!ok)
		return sfs_fail(s->err, VIMAP_STORAGE_ERR_INTERNAL, "storage group %ld is not in "
				"tablespace %s as configured: run 'vimap upgrade-store'", group,
				name);
	return 0;
}

/* The configured tablespaces are in place (one query per entry). */
static int sfs_schema_check_spaces(struct sfs_state *st, struct vimap_storage_error *err)
{
	struct sfs_space_ctx sc = { NULL, err };
	struct sfs_conn *c;
	int ret;

	if (st->tablespaces == NULL || *st->tablespaces == '\0')
		return 0;
	if (sfs_pool_get(st, &c, err) < 0)
		return -1;
	sc.pg = c->pg;
	ret = sfs_schema_each_space(st->tablespaces, sfs_schema_space_ok, &sc, NULL);
	sfs_pool_put(st, &c);
	return ret;
}

/* The body of upgrade, inside its transaction. */
static int sfs_schema_upgrade_in(struct sfs_state *st, PGconn *pg, vimap_progress_cb *progress,
				 void *ctx, struct vimap_storage_error *err)
{
	struct sfs_space_ctx sc = { pg, err };
	const char *error = NULL;
	char lock[96];
	long version;

	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%lld)", SFS_UPGRADE_LOCK);
	if (sfs_exec_sql(pg, lock, "take the upgrade lock", err) < 0 ||
	    sfs_schema_version(pg, &version, err) < 0)
		return -1;
	if (version > SFS_FORMAT_VERSION)
		return sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "store format %ld is newer than "
				"%d, this build's: run a newer vimap", version, SFS_FORMAT_VERSION);
	if (progress != NULL)
		progress(ctx, 0, 2);
	if (version == 0) {
		sfs_log(st, VIMAP_LOG_INFO, "creating the store schema (format %d)",
			SFS_FORMAT_VERSION);
		if (sfs_exec_sql(pg, sfs_schema_v1, "create the schema", err) < 0)
			return -1;
	}
	/* Later formats: one step per version here, from `version` on. */
	if (progress != NULL)
		progress(ctx, 1, 2);
	if (sfs_schema_each_space(st->tablespaces, sfs_schema_space, &sc, &error) < 0)
		return error != NULL ? sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "%s", error) : -1;
	if (progress != NULL)
		progress(ctx, 2, 2);
	return 0;
}

int sfs_schema_upgrade(void *state, vimap_progress_cb *progress, void *ctx,
		       struct vimap_storage_error *err)
{
	struct sfs_state *st = state;
	struct sfs_conn *c;
	int ret;

	if (sfs_pool_get(st, &c, err) < 0)
		return -1;
	ret = sfs_exec_sql(c->pg, "BEGIN", "begin", err);
	if (ret == 0) {
		c->in_txn = 1;
		ret = sfs_schema_upgrade_in(st, c->pg, progress, ctx, err);
	}
	if (ret == 0 && (ret = sfs_exec_sql(c->pg, "COMMIT", "commit", err)) == 0)
		c->in_txn = 0;
	/* Statements prepared before the upgrade may name old tables. */
	sfs_pool_put(st, &c);
	sfs_pool_flush(st);
	return ret;
}
