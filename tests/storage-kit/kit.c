/* The storage conformance kit: runs any storage plugin through the cases
 * every backend must pass to work with the kernel, using nothing but the
 * ABI (<vimap/storage.h>), the kernel's loader and its host table.
 *
 *   VIMAP_KIT_PLUGIN_DIR     where the plugin is (default: the build tree's
 *                            .plugins directory)
 *   VIMAP_KIT_PLUGIN         its name (default "localfs")
 *   VIMAP_KIT_FILEPOOL       the filepoolid setting (default: a fresh
 *                            temporary directory, removed when every
 *                            case passed and kept for a look otherwise)
 *   VIMAP_KIT_PLUGIN_CONFIG  the plugin's section as a YAML flow mapping,
 *                            e.g. "{fsync: false}" (default: none)
 *
 * Every case enrols its own user (removing one left by an earlier run) and
 * removes it at the end, so a shared filepool works too.  A store whose
 * check_format fails (a fresh PostgreSQL database for sfs) is upgraded
 * once by the set-up, as `vimap upgrade-store` would.  The ABI 1.1 cases
 * (ACL, links, format) fail against a plugin that lacks those ops;
 * test_two_instances loads a second instance of the plugin on the same
 * filepool, as a second vimapd process would have.  The crash case
 * forks a child that appends in a loop, kills it with SIGKILL at a random
 * moment, and checks that every append the child saw acknowledged is there,
 * byte for byte, and that no message is half visible. */
#include "autoconfig.h"
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vimap/storage.h>
#include "config.h"
#include "host.h"
#include "loader.h"
#include "log.h"

#ifndef KIT_PLUGIN_DIR
#define KIT_PLUGIN_DIR ".plugins"
#endif

#define KIT_CRASH_ROUNDS 30

static const char *kit_dir;
static const char *kit_name;
static struct vimap_config *kit_cfg;
static struct vimap_plugin_ctx *kit_plugin;
static const struct vimap_storage_ops *kit_ops;
static void *kit_state;

/* ---- set-up ---- */

/* True when the plugin's ops table has member `m` (an ABI 1.1 op on an
   older plugin is missing). */
#define KIT_HAS(ops, m) \
	((ops)->size >= offsetof(struct vimap_storage_ops, m) + sizeof((ops)->m) && \
	 (ops)->m != NULL)

/* A fresh store (an empty PostgreSQL database for sfs) gets its format
   here, as `vimap upgrade-store` would make it: upgrade once when
   check_format fails. */
static void kit_prepare_store(const struct vimap_storage_ops *ops, void *state)
{
	struct vimap_storage_error err = { 0, NULL };

	if (!KIT_HAS(ops, check_format) || !KIT_HAS(ops, upgrade))
		return;
	if (ops->check_format(state, &err) == 0)
		return;
	ck_assert_msg(ops->upgrade(state, NULL, NULL, &err) == 0, "upgrade failed: %s",
		      err.text != NULL ? err.text : "?");
	ck_assert_msg(ops->check_format(state, &err) == 0, "check_format after upgrade: %s",
		      err.text != NULL ? err.text : "?");
}

static void kit_setup(void)
{
	const char *error = NULL;

	ck_assert_msg(loader_global_init(&error) == 0, "%s", error);
	ck_assert_msg(loader_open(kit_dir, kit_name, VIMAP_PLUGIN_STORAGE, &kit_plugin,
				  &error) == 0, "%s", error);
	ck_assert_msg(loader_init(kit_plugin, config_plugin_section(kit_cfg, kit_name),
				  &error) == 0, "%s", error);
	kit_ops = kit_plugin->desc->ops;
	kit_state = kit_plugin->state;
	kit_prepare_store(kit_ops, kit_state);
}

static void kit_teardown(void)
{
	loader_close(&kit_plugin);
	loader_global_deinit();
	kit_ops = NULL;
	kit_state = NULL;
}

/* ---- helpers ---- */

#define KIT_OK(call, err) \
	ck_assert_msg((call) == 0, "%s failed: %s", #call, (err).text != NULL ? (err).text : "?")

/* The call failed with `code`. */
#define KIT_FAILS(call, err, want) do { \
	memset(&(err), 0, sizeof(err)); \
	ck_assert_msg((call) == -1, "%s succeeded, expected code %d", #call, (int)(want)); \
	ck_assert_msg((err).code == (want), "%s: code %d, expected %d (%s)", #call, \
		      (int)(err).code, (int)(want), (err).text != NULL ? (err).text : ""); \
	ck_assert_ptr_nonnull((err).text); \
} while (0)

/* A fresh user `name`: removes one left by an earlier run, enrols. */
static void kit_enroll(const char *user, uint64_t blocks)
{
	struct vimap_storage_error err = { 0, NULL };
	int ret = kit_ops->is_enrolled(kit_state, user, &err);

	ck_assert_msg(ret >= 0, "is_enrolled(%s): %s", user, err.text);
	if (ret == 1)
		KIT_OK(kit_ops->unenroll(kit_state, user, &err), err);
	KIT_OK(kit_ops->enroll(kit_state, user, blocks, 2, &err), err);
}

static void *kit_open(const char *user)
{
	struct vimap_storage_error err = { 0, NULL };
	void *u = NULL;

	KIT_OK(kit_ops->user_open(kit_state, user, &u, &err), err);
	ck_assert_ptr_nonnull(u);
	return u;
}

static void kit_done(const char *user, void *u)
{
	struct vimap_storage_error err = { 0, NULL };

	if (u != NULL)
		kit_ops->user_close(u);
	KIT_OK(kit_ops->unenroll(kit_state, user, &err), err);
}

/* Message `i` of `size` octets (at least its header): CRLF lines of
   printable text that depend on i, so any two messages differ. */
static char *kit_message(unsigned i, size_t size, size_t *size_r)
{
	char head[128];
	int n = snprintf(head, sizeof(head),
			 "From: kit@example.org\r\nSubject: message %u\r\n\r\n", i);
	size_t len = size < (size_t)n ? (size_t)n : size, k;
	char *buf = malloc(len + 1);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, head, (size_t)n);
	for (k = (size_t)n; k < len; k++)
		buf[k] = (k - (size_t)n) % 72 == 70 ? '\r' : (k - (size_t)n) % 72 == 71 ? '\n'
			: (char)('a' + (k * 7 + i) % 26);
	buf[len] = '\0';
	*size_r = len;
	return buf;
}

/* Appends one message; returns its UID. */
static uint32_t kit_append(void *u, const char *mailbox, const char *data, size_t size,
			   uint32_t flags, const char *keywords, uint32_t *uidvalidity_r)
{
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_append a = { data, size, flags, keywords, 1700000000, 60, NULL, 0 };
	uint32_t uid = 0, uidvalidity = 0;

	KIT_OK(kit_ops->append(u, mailbox, &a, 1, &uidvalidity, &uid, &err), err);
	ck_assert_uint_gt(uid, 0);
	ck_assert_uint_gt(uidvalidity, 0);
	if (uidvalidity_r != NULL)
		*uidvalidity_r = uidvalidity;
	return uid;
}

/* Appends generated message i of `size` octets. */
static uint32_t kit_append_gen(void *u, const char *mailbox, unsigned i, size_t size,
			       uint32_t flags)
{
	size_t len;
	char *msg = kit_message(i, size, &len);
	uint32_t uid = kit_append(u, mailbox, msg, len, flags, "", NULL);

	free(msg);
	return uid;
}

static struct vimap_mailbox_info kit_status(void *u, const char *name)
{
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info info;

	memset(&info, 0, sizeof(info));
	KIT_OK(kit_ops->mailbox_status(u, name, &info, &err), err);
	return info;
}

static void *kit_box(void *u, const char *name, struct vimap_mailbox_info *info_r)
{
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info info;
	void *box = NULL;

	KIT_OK(kit_ops->mailbox_open(u, name, &box, info_r != NULL ? info_r : &info, &err), err);
	ck_assert_ptr_nonnull(box);
	return box;
}

/* Records collected from callbacks (copies). */
struct kit_rec {
	struct vimap_message m;
	char *keywords;
	void *cache;
};

struct kit_recs {
	struct kit_rec *v;
	unsigned n, alloc;
	int unordered;           /* a UID did not ascend */
	uint32_t *uids;          /* from a vimap_uid_cb */
	unsigned nuids;
};

static int kit_rec_cb(void *ctx, const struct vimap_message *m)
{
	struct kit_recs *r = ctx;
	struct kit_rec *x;

	if (r->n > 0 && m->uid <= r->v[r->n - 1].m.uid)
		r->unordered = 1;
	if (r->n == r->alloc) {
		r->alloc = r->alloc == 0 ? 16 : r->alloc * 2;
		r->v = realloc(r->v, r->alloc * sizeof(*r->v));
	}
	x = &r->v[r->n++];
	x->m = *m;
	x->keywords = strdup(m->keywords != NULL ? m->keywords : "");
	x->cache = NULL;
	if (m->cache != NULL && m->cache_size > 0) {
		x->cache = malloc(m->cache_size);
		memcpy(x->cache, m->cache, m->cache_size);
	}
	x->m.keywords = x->keywords;
	x->m.cache = x->cache;
	return 0;
}

static void kit_uid_cb(void *ctx, uint32_t uid)
{
	struct kit_recs *r = ctx;

	r->uids = realloc(r->uids, (r->nuids + 1) * sizeof(*r->uids));
	r->uids[r->nuids++] = uid;
}

static void kit_recs_free(struct kit_recs *r)
{
	unsigned i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].keywords);
		free(r->v[i].cache);
	}
	free(r->v);
	free(r->uids);
	memset(r, 0, sizeof(*r));
}

/* The record of `uid` through fetch, or NULL (recs keeps it). */
static const struct vimap_message *kit_fetch_one(void *box, uint32_t uid, unsigned want,
						 struct kit_recs *recs)
{
	struct vimap_storage_error err = { 0, NULL };

	kit_recs_free(recs);
	KIT_OK(kit_ops->fetch(box, &uid, 1, want, kit_rec_cb, recs, &err), err);
	return recs->n == 1 ? &recs->v[0].m : NULL;
}

/* 1 when the space-separated keyword lists hold the same set (IMAP
   keywords compare case-insensitively). */
static int kit_kw_contains(const char *list, const char *w, size_t n)
{
	while (*list != '\0') {
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

static int kit_kw_subset(const char *a, const char *b)
{
	while (*a != '\0') {
		size_t n;

		while (*a == ' ')
			a++;
		n = strcspn(a, " ");
		if (n > 0 && !kit_kw_contains(b, a, n))
			return 0;
		a += n;
	}
	return 1;
}

static int kit_kw_equal(const char *a, const char *b)
{
	return kit_kw_subset(a, b) && kit_kw_subset(b, a);
}

/* The bytes of `uid` equal data/size. */
static void kit_check_bytes(void *box, uint32_t uid, const char *data, size_t size)
{
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_message_data md;

	memset(&md, 0, sizeof(md));
	KIT_OK(kit_ops->open_message(box, uid, &md, &err), err);
	ck_assert_msg(md.size == size, "uid %u: %zu octets, expected %zu", uid, md.size, size);
	ck_assert_msg(size == 0 || memcmp(md.data, data, size) == 0, "uid %u: bytes differ", uid);
	kit_ops->close_message(box, &md);
}

/* ---- the ABI itself ---- */

/* The plugin fills every operation of the ABI it was built for. */
START_TEST(test_ops_complete)
{
	ck_assert_uint_ge(kit_ops->size, sizeof(struct vimap_storage_ops));
	ck_assert_ptr_nonnull(kit_ops->is_enrolled);
	ck_assert_ptr_nonnull(kit_ops->enroll);
	ck_assert_ptr_nonnull(kit_ops->unenroll);
	ck_assert_ptr_nonnull(kit_ops->quota_get);
	ck_assert_ptr_nonnull(kit_ops->quota_set);
	ck_assert_ptr_nonnull(kit_ops->user_open);
	ck_assert_ptr_nonnull(kit_ops->user_close);
	ck_assert_ptr_nonnull(kit_ops->mailbox_list);
	ck_assert_ptr_nonnull(kit_ops->mailbox_create);
	ck_assert_ptr_nonnull(kit_ops->mailbox_delete);
	ck_assert_ptr_nonnull(kit_ops->mailbox_rename);
	ck_assert_ptr_nonnull(kit_ops->mailbox_status);
	ck_assert_ptr_nonnull(kit_ops->subscribe);
	ck_assert_ptr_nonnull(kit_ops->subscriptions);
	ck_assert_ptr_nonnull(kit_ops->append);
	ck_assert_ptr_nonnull(kit_ops->mailbox_open);
	ck_assert_ptr_nonnull(kit_ops->mailbox_close);
	ck_assert_ptr_nonnull(kit_ops->mailbox_sync);
	ck_assert_ptr_nonnull(kit_ops->claim_recent);
	ck_assert_ptr_nonnull(kit_ops->fetch);
	ck_assert_ptr_nonnull(kit_ops->open_message);
	ck_assert_ptr_nonnull(kit_ops->close_message);
	ck_assert_ptr_nonnull(kit_ops->store);
	ck_assert_ptr_nonnull(kit_ops->expunge);
	ck_assert_ptr_nonnull(kit_ops->copy);
}
END_TEST

/* ---- enrolment ---- */

/* enroll, is_enrolled, EXISTS on a second enroll, unenroll, and what a
   user that is not enrolled gets. */
START_TEST(test_enroll)
{
	const char *user = "kit-enroll";
	struct vimap_storage_error err = { 0, NULL };
	uint64_t limit = 0, used = 1;
	void *u = NULL;

	kit_enroll(user, 100);
	ck_assert_int_eq(kit_ops->is_enrolled(kit_state, user, &err), 1);
	KIT_FAILS(kit_ops->enroll(kit_state, user, 100, 2, &err), err, VIMAP_STORAGE_ERR_EXISTS);
	KIT_OK(kit_ops->quota_get(kit_state, user, &limit, &used, &err), err);
	ck_assert_uint_eq(limit, 100);
	ck_assert_uint_eq(used, 0);
	u = kit_open(user);
	kit_append_gen(u, "INBOX", 1, 500, 0);
	kit_ops->user_close(u);
	KIT_OK(kit_ops->unenroll(kit_state, user, &err), err);
	ck_assert_int_eq(kit_ops->is_enrolled(kit_state, user, &err), 0);
	KIT_FAILS(kit_ops->user_open(kit_state, user, &u, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	KIT_FAILS(kit_ops->unenroll(kit_state, user, &err), err, VIMAP_STORAGE_ERR_NONEXISTENT);
	KIT_FAILS(kit_ops->quota_get(kit_state, user, &limit, &used, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	/* Enrolled again: a new, empty store. */
	kit_enroll(user, 100);
	u = kit_open(user);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 0);
	kit_done(user, u);
}
END_TEST

/* The mailboxes a new user has, with their special-use attributes. */
static const struct {
	const char *name;
	uint32_t special_use;
} kit_default_boxes[] = {
	{ "INBOX", 0 },                      /* the inbox, no special use */
	{ "Drafts", VIMAP_SPECIAL_DRAFTS },  /* RFC 6154 \Drafts */
	{ "Sent", VIMAP_SPECIAL_SENT },      /* \Sent */
	{ "Trash", VIMAP_SPECIAL_TRASH },    /* \Trash */
	{ "Junk", VIMAP_SPECIAL_JUNK },      /* \Junk */
};

struct kit_names {
	char *names[64];
	struct vimap_mailbox_info infos[64];
	int has_info[64];
	unsigned n;
};

static void kit_name_cb(void *ctx, const char *name, const struct vimap_mailbox_info *info)
{
	struct kit_names *l = ctx;

	if (l->n == 64)
		return;
	l->names[l->n] = strdup(name);
	l->has_info[l->n] = info != NULL;
	if (info != NULL)
		l->infos[l->n] = *info;
	l->n++;
}

static void kit_names_free(struct kit_names *l)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	l->n = 0;
}

/* Index of `name` in l, or -1. */
static int kit_names_find(const struct kit_names *l, const char *name)
{
	unsigned i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

static void kit_list(void *u, struct kit_names *l)
{
	struct vimap_storage_error err = { 0, NULL };

	kit_names_free(l);
	KIT_OK(kit_ops->mailbox_list(u, kit_name_cb, l, &err), err);
}

START_TEST(test_special_use)
{
	const char *user = "kit-special";
	struct kit_names l = { .n = 0 };
	void *u;
	unsigned i;

	kit_enroll(user, 100);
	u = kit_open(user);
	kit_list(u, &l);
	ck_assert_uint_eq(l.n, sizeof(kit_default_boxes) / sizeof(kit_default_boxes[0]));
	for (i = 0; i < sizeof(kit_default_boxes) / sizeof(kit_default_boxes[0]); i++) {
		int k = kit_names_find(&l, kit_default_boxes[i].name);

		ck_assert_msg(k >= 0, "%s missing", kit_default_boxes[i].name);
		ck_assert_msg(l.has_info[k], "%s: no info", kit_default_boxes[i].name);
		ck_assert_uint_eq(l.infos[k].special_use, kit_default_boxes[i].special_use);
		ck_assert_uint_eq(l.infos[k].attributes & VIMAP_MAILBOX_NOSELECT, 0);
	}
	kit_names_free(&l);
	kit_done(user, u);
}
END_TEST

/* ---- quota ---- */

/* quota_get/quota_set/force, and OVERQUOTA on append and copy with
   nothing changed. */
START_TEST(test_quota)
{
	const char *user = "kit-quota";
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info before, after, trash_before;
	uint64_t limit, used;
	uint32_t uid, uidv, dest_uid = 7, uids[1];
	size_t len;
	char *msg = kit_message(1, 5000, &len);  /* 2 blocks */
	struct vimap_append a = { msg, len, 0, "", 1700000000, 0, NULL, 0 };
	void *u, *box;

	kit_enroll(user, 3);
	u = kit_open(user);
	uid = kit_append(u, "INBOX", msg, len, 0, "", NULL);
	KIT_OK(kit_ops->quota_get(kit_state, user, &limit, &used, &err), err);
	ck_assert_uint_eq(limit, 3);
	ck_assert_uint_eq(used, 2);
	/* Below what is in use: refused without force. */
	KIT_FAILS(kit_ops->quota_set(kit_state, user, 1, 0, &err), err, VIMAP_STORAGE_ERR_CANNOT);
	KIT_OK(kit_ops->quota_get(kit_state, user, &limit, &used, &err), err);
	ck_assert_uint_eq(limit, 3);
	/* A second 2-block message does not fit in 3 blocks. */
	before = kit_status(u, "INBOX");
	KIT_FAILS(kit_ops->append(u, "INBOX", &a, 1, &uidv, uids, &err), err,
		  VIMAP_STORAGE_ERR_OVERQUOTA);
	after = kit_status(u, "INBOX");
	ck_assert_uint_eq(after.messages, before.messages);
	ck_assert_uint_eq(after.size, before.size);
	KIT_OK(kit_ops->quota_get(kit_state, user, &limit, &used, &err), err);
	ck_assert_uint_eq(used, 2);
	/* Neither does a copy of the first. */
	trash_before = kit_status(u, "Trash");
	box = kit_box(u, "INBOX", NULL);
	KIT_FAILS(kit_ops->copy(box, &uid, 1, "Trash", 0, &uidv, &dest_uid, NULL, NULL, &err),
		  err, VIMAP_STORAGE_ERR_OVERQUOTA);
	ck_assert_uint_eq(kit_status(u, "Trash").messages, trash_before.messages);
	ck_assert_uint_eq(kit_status(u, "Trash").uidnext, trash_before.uidnext);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, before.messages);
	/* Forced below usage, then raised: the copy fits. */
	KIT_OK(kit_ops->quota_set(kit_state, user, 1, 1, &err), err);
	KIT_OK(kit_ops->quota_get(kit_state, user, &limit, &used, &err), err);
	ck_assert_uint_eq(limit, 1);
	ck_assert_uint_eq(used, 2);
	KIT_OK(kit_ops->quota_set(kit_state, user, 10, 0, &err), err);
	KIT_OK(kit_ops->copy(box, &uid, 1, "Trash", 0, &uidv, &dest_uid, NULL, NULL, &err), err);
	ck_assert_uint_gt(dest_uid, 0);
	KIT_OK(kit_ops->quota_get(kit_state, user, &limit, &used, &err), err);
	ck_assert_uint_eq(used, 4);
	kit_ops->mailbox_close(box);
	free(msg);
	kit_done(user, u);
}
END_TEST

/* ---- mailboxes ---- */

enum kit_mb_op { MB_CREATE, MB_DELETE, MB_RENAME, MB_SELECTABLE, MB_NOSELECT, MB_ABSENT };

/* One step of the mailbox script: op on a (and b), expected code (0 ok). */
static const struct kit_mb_step {
	enum kit_mb_op op;
	const char *a, *b;
	int code;
} kit_mb_script[] = {
	/* creating a deep name makes its parents as \Noselect nodes */
	{ MB_CREATE, "a/b/c", NULL, 0 },
	{ MB_NOSELECT, "a", NULL, 0 },
	{ MB_NOSELECT, "a/b", NULL, 0 },
	{ MB_SELECTABLE, "a/b/c", NULL, 0 },
	/* a second create of the same name */
	{ MB_CREATE, "a/b/c", NULL, VIMAP_STORAGE_ERR_EXISTS },
	{ MB_CREATE, "INBOX", NULL, VIMAP_STORAGE_ERR_EXISTS },
	/* creating a \Noselect node's name makes it a real mailbox */
	{ MB_CREATE, "a", NULL, 0 },
	{ MB_SELECTABLE, "a", NULL, 0 },
	/* INBOX can never be deleted; a missing name is NONEXISTENT */
	{ MB_DELETE, "INBOX", NULL, VIMAP_STORAGE_ERR_CANNOT },
	{ MB_DELETE, "nope", NULL, VIMAP_STORAGE_ERR_NONEXISTENT },
	/* a mailbox with children becomes a \Noselect node */
	{ MB_DELETE, "a", NULL, 0 },
	{ MB_NOSELECT, "a", NULL, 0 },
	{ MB_SELECTABLE, "a/b/c", NULL, 0 },
	/* a leaf goes; then \Noselect nodes without children go */
	{ MB_DELETE, "a/b/c", NULL, 0 },
	{ MB_ABSENT, "a/b/c", NULL, 0 },
	{ MB_DELETE, "a/b", NULL, 0 },
	{ MB_ABSENT, "a/b", NULL, 0 },
	{ MB_DELETE, "a", NULL, 0 },
	{ MB_ABSENT, "a", NULL, 0 },
	/* rename moves children and makes missing parents */
	{ MB_CREATE, "r/x", NULL, 0 },
	{ MB_CREATE, "r/x/y", NULL, 0 },
	{ MB_RENAME, "r/x", "s/t/z", 0 },
	{ MB_ABSENT, "r/x", NULL, 0 },
	{ MB_ABSENT, "r/x/y", NULL, 0 },
	{ MB_NOSELECT, "s", NULL, 0 },
	{ MB_NOSELECT, "s/t", NULL, 0 },
	{ MB_SELECTABLE, "s/t/z", NULL, 0 },
	{ MB_SELECTABLE, "s/t/z/y", NULL, 0 },
	/* rename onto an existing name, of a missing name */
	{ MB_RENAME, "s/t/z", "Trash", VIMAP_STORAGE_ERR_EXISTS },
	{ MB_RENAME, "s/t/z", "INBOX", VIMAP_STORAGE_ERR_EXISTS },
	{ MB_RENAME, "nope", "other", VIMAP_STORAGE_ERR_NONEXISTENT },
	{ MB_SELECTABLE, "s/t/z", NULL, 0 },
	/* UTF-8 names are kept as given */
	{ MB_CREATE, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", NULL, 0 },
	{ MB_SELECTABLE, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", NULL, 0 },
	{ MB_NOSELECT, "caf\xc3\xa9", NULL, 0 },
};

static void kit_mb_check(void *u, const struct kit_mb_step *s, unsigned i)
{
	struct kit_names l = { .n = 0 };
	int k;

	kit_list(u, &l);
	k = kit_names_find(&l, s->a);
	if (s->op == MB_ABSENT)
		ck_assert_msg(k < 0, "step %u: %s still listed", i, s->a);
	else {
		ck_assert_msg(k >= 0, "step %u: %s not listed", i, s->a);
		ck_assert_msg(((l.infos[k].attributes & VIMAP_MAILBOX_NOSELECT) != 0) ==
			      (s->op == MB_NOSELECT), "step %u: %s \\Noselect is %s", i, s->a,
			      (l.infos[k].attributes & VIMAP_MAILBOX_NOSELECT) ? "set" : "clear");
	}
	kit_names_free(&l);
}

START_TEST(test_mailbox_script)
{
	const char *user = "kit-mailboxes";
	struct vimap_storage_error err;
	unsigned i;
	void *u;

	kit_enroll(user, 1000);
	u = kit_open(user);
	for (i = 0; i < sizeof(kit_mb_script) / sizeof(kit_mb_script[0]); i++) {
		const struct kit_mb_step *s = &kit_mb_script[i];
		int ret;

		memset(&err, 0, sizeof(err));
		switch (s->op) {
		case MB_CREATE:
			ret = kit_ops->mailbox_create(u, s->a, 0, &err);
			break;
		case MB_DELETE:
			ret = kit_ops->mailbox_delete(u, s->a, &err);
			break;
		case MB_RENAME:
			ret = kit_ops->mailbox_rename(u, s->a, s->b, &err);
			break;
		default:
			kit_mb_check(u, s, i);
			continue;
		}
		if (s->code == 0)
			ck_assert_msg(ret == 0, "step %u (%s) failed: %s", i, s->a, err.text);
		else
			ck_assert_msg(ret == -1 && err.code == (enum vimap_storage_code)s->code,
				      "step %u (%s): ret %d code %d, expected code %d", i, s->a,
				      ret, (int)err.code, s->code);
	}
	kit_done(user, u);
}
END_TEST

/* A \Noselect node with children cannot be deleted; a mailbox cannot be
   opened or STATUSed while \Noselect; a deleted and re-created mailbox gets
   a new UIDVALIDITY and loses its messages. */
START_TEST(test_mailbox_delete_rules)
{
	const char *user = "kit-delete";
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info info, st;
	uint32_t old_uidvalidity;
	void *u, *box;

	kit_enroll(user, 1000);
	u = kit_open(user);
	KIT_OK(kit_ops->mailbox_create(u, "p/q", 0, &err), err);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(kit_ops->mailbox_delete(u, "p", &err), -1);
	ck_assert_int_ne(err.code, 0);
	KIT_FAILS(kit_ops->mailbox_open(u, "p", &box, &info, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	KIT_FAILS(kit_ops->mailbox_open(u, "zz", &box, &info, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	KIT_FAILS(kit_ops->mailbox_status(u, "zz", &info, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	/* Messages go with their mailbox. */
	KIT_OK(kit_ops->mailbox_create(u, "gone", 0, &err), err);
	kit_append_gen(u, "gone", 1, 300, 0);
	kit_append_gen(u, "gone", 2, 300, 0);
	old_uidvalidity = kit_status(u, "gone").uidvalidity;
	KIT_OK(kit_ops->mailbox_delete(u, "gone", &err), err);
	KIT_FAILS(kit_ops->mailbox_status(u, "gone", &info, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	KIT_OK(kit_ops->mailbox_create(u, "gone", 0, &err), err);
	st = kit_status(u, "gone");
	ck_assert_uint_eq(st.messages, 0);
	ck_assert_uint_ne(st.uidvalidity, old_uidvalidity);
	/* A handle on a deleted mailbox reports NONEXISTENT. */
	box = kit_box(u, "gone", NULL);
	KIT_OK(kit_ops->mailbox_delete(u, "gone", &err), err);
	KIT_FAILS(kit_ops->mailbox_sync(box, 0, 0, kit_rec_cb, kit_uid_cb, &(struct kit_recs){ 0 },
					&info, &err), err, VIMAP_STORAGE_ERR_NONEXISTENT);
	kit_ops->mailbox_close(box);
	kit_done(user, u);
}
END_TEST

/* RENAME keeps messages; RENAME INBOX moves its messages to the new name
   and leaves INBOX empty, without reusing a UID. */
START_TEST(test_rename_messages)
{
	const char *user = "kit-rename";
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info inbox_before, inbox_after, moved;
	struct kit_recs recs = { 0 };
	uint32_t uids[3], newuid, uidv;
	char *msgs[3];
	size_t lens[3];
	unsigned i;
	void *u, *box;

	kit_enroll(user, 1000);
	u = kit_open(user);
	KIT_OK(kit_ops->mailbox_create(u, "work", 0, &err), err);
	kit_append_gen(u, "work", 9, 700, VIMAP_FLAG_SEEN);
	KIT_OK(kit_ops->mailbox_rename(u, "work", "job", &err), err);
	ck_assert_uint_eq(kit_status(u, "job").messages, 1);
	ck_assert_uint_eq(kit_status(u, "job").unseen, 0);
	for (i = 0; i < 3; i++) {
		msgs[i] = kit_message(20 + i, 900 + i * 1000, &lens[i]);
		uids[i] = kit_append(u, "INBOX", msgs[i], lens[i], i == 1 ? VIMAP_FLAG_FLAGGED : 0,
				     "", NULL);
	}
	inbox_before = kit_status(u, "INBOX");
	KIT_OK(kit_ops->mailbox_rename(u, "INBOX", "old/inbox", &err), err);
	inbox_after = kit_status(u, "INBOX");
	ck_assert_uint_eq(inbox_after.messages, 0);
	ck_assert_uint_eq(inbox_after.size, 0);
	moved = kit_status(u, "old/inbox");
	ck_assert_uint_eq(moved.messages, 3);
	ck_assert_uint_eq(moved.size, inbox_before.size);
	box = kit_box(u, "old/inbox", NULL);
	KIT_OK(kit_ops->mailbox_sync(box, 0, 0, kit_rec_cb, NULL, &recs, NULL, &err), err);
	ck_assert_uint_eq(recs.n, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(recs.v[i].m.size, lens[i]);
		ck_assert_uint_eq(recs.v[i].m.flags & VIMAP_FLAG_FLAGGED,
				  i == 1 ? VIMAP_FLAG_FLAGGED : 0);
		kit_check_bytes(box, recs.v[i].m.uid, msgs[i], lens[i]);
		free(msgs[i]);
	}
	kit_ops->mailbox_close(box);
	/* INBOX's UIDs are not given again under the same UIDVALIDITY. */
	newuid = kit_append_gen(u, "INBOX", 30, 100, 0);
	KIT_OK(kit_ops->mailbox_status(u, "INBOX", &inbox_after, &err), err);
	uidv = inbox_after.uidvalidity;
	ck_assert_msg(uidv != inbox_before.uidvalidity || newuid > uids[2],
		      "INBOX UID %u given again", newuid);
	kit_recs_free(&recs);
	kit_done(user, u);
}
END_TEST

/* ---- subscriptions ---- */

/* subscribe/unsubscribe, names that do not exist, no duplicates. */
START_TEST(test_subscriptions)
{
	const char *user = "kit-subscribe";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_names l = { .n = 0 };
	void *u;

	kit_enroll(user, 100);
	u = kit_open(user);
	KIT_OK(kit_ops->subscriptions(u, kit_name_cb, &l, &err), err);
	ck_assert_uint_eq(l.n, 0);
	KIT_OK(kit_ops->subscribe(u, "Sent", 1, &err), err);
	KIT_OK(kit_ops->subscribe(u, "no/such", 1, &err), err);
	KIT_OK(kit_ops->subscribe(u, "Sent", 1, &err), err);
	KIT_OK(kit_ops->subscriptions(u, kit_name_cb, &l, &err), err);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_ge(kit_names_find(&l, "Sent"), 0);
	ck_assert_int_ge(kit_names_find(&l, "no/such"), 0);
	kit_names_free(&l);
	KIT_OK(kit_ops->subscribe(u, "Sent", 0, &err), err);
	KIT_OK(kit_ops->subscribe(u, "never", 0, &err), err);
	KIT_OK(kit_ops->subscriptions(u, kit_name_cb, &l, &err), err);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.names[0], "no/such");
	kit_names_free(&l);
	kit_done(user, u);
}
END_TEST

/* ---- append, fetch, message bytes ---- */

/* Messages of these sizes come back byte for byte. */
static const struct {
	size_t size;
	int binary;   /* all 256 byte values, NUL included */
} kit_bodies[] = {
	{ 60, 0 },        /* header only, less than a block */
	{ 4096, 0 },      /* exactly one quota block */
	{ 4097, 0 },      /* one octet into the second */
	{ 100000, 0 },    /* a hundred kilobytes */
	{ 3000, 1 },      /* binary content with NULs */
	{ 1048576, 1 },   /* a megabyte */
	{ 5242881, 1 },   /* five megabytes and one octet (sfs: through a temp file) */
};

START_TEST(test_append_bytes)
{
	const char *user = "kit-bytes";
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_message_data md;
	uint32_t uids[sizeof(kit_bodies) / sizeof(kit_bodies[0])];
	char *data[sizeof(kit_bodies) / sizeof(kit_bodies[0])];
	size_t lens[sizeof(kit_bodies) / sizeof(kit_bodies[0])];
	unsigned i, n = sizeof(kit_bodies) / sizeof(kit_bodies[0]);
	void *u, *box;

	kit_enroll(user, 100000);
	u = kit_open(user);
	for (i = 0; i < n; i++) {
		data[i] = kit_message(i, kit_bodies[i].size, &lens[i]);
		if (kit_bodies[i].binary) {
			size_t k;

			for (k = 0; k < lens[i]; k++)
				data[i][k] = (char)(k * 131 + i);
		}
		uids[i] = kit_append(u, "INBOX", data[i], lens[i], 0, "", NULL);
	}
	box = kit_box(u, "INBOX", NULL);
	for (i = 0; i < n; i++) {
		kit_check_bytes(box, uids[i], data[i], lens[i]);
		free(data[i]);
	}
	/* A UID that is not there. */
	KIT_FAILS(kit_ops->open_message(box, uids[n - 1] + 100, &md, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	kit_ops->mailbox_close(box);
	kit_done(user, u);
}
END_TEST

/* One APPEND call of several messages: ascending UIDs; flags, keywords,
   dates and the cache blob come back; UIDVALIDITY stays; counts follow. */
START_TEST(test_append_multi)
{
	const char *user = "kit-append";
	struct vimap_storage_error err = { 0, NULL };
	static const char blob0[] = "cache\0blob\x01\xff";
	static const char *const kws[4] = { "", "$Work", "alpha beta", "Gamma" };
	struct vimap_append a[4];
	struct kit_recs recs = { 0 };
	struct vimap_mailbox_info info, info2;
	uint32_t uids[4], uidvalidity, uidv2, uid5, unseen = 0;
	uint64_t total = 0;
	char *msgs[4];
	unsigned i;
	void *u, *box;

	kit_enroll(user, 10000);
	u = kit_open(user);
	for (i = 0; i < 4; i++) {
		size_t len;

		msgs[i] = kit_message(i, 200 + i * 3000, &len);
		a[i] = (struct vimap_append){ msgs[i], len, i % 2 ? VIMAP_FLAG_SEEN : 0, kws[i],
			1600000000 + i * 86400, (int32_t)i * 60 - 120,
			i == 0 ? blob0 : msgs[i], i == 0 ? sizeof(blob0) : 10 + i };
		total += len;
		unseen += i % 2 ? 0 : 1;
	}
	a[3].flags = VIMAP_FLAG_DRAFT | VIMAP_FLAG_FLAGGED | VIMAP_FLAG_ANSWERED;
	unseen = 3;
	KIT_OK(kit_ops->append(u, "Drafts", a, 4, &uidvalidity, uids, &err), err);
	for (i = 1; i < 4; i++)
		ck_assert_uint_gt(uids[i], uids[i - 1]);
	box = kit_box(u, "Drafts", &info);
	ck_assert_uint_eq(info.uidvalidity, uidvalidity);
	ck_assert_uint_eq(info.messages, 4);
	ck_assert_uint_eq(info.unseen, unseen);
	ck_assert_uint_eq(info.size, total);
	ck_assert_uint_gt(info.uidnext, uids[3]);
	KIT_OK(kit_ops->fetch(box, uids, 4, VIMAP_WANT_CACHE, kit_rec_cb, &recs, &err), err);
	ck_assert_uint_eq(recs.n, 4);
	ck_assert_int_eq(recs.unordered, 0);
	for (i = 0; i < 4; i++) {
		const struct vimap_message *m = &recs.v[i].m;

		ck_assert_uint_eq(m->uid, uids[i]);
		ck_assert_uint_eq(m->flags, a[i].flags);
		ck_assert_msg(kit_kw_equal(m->keywords, kws[i]), "keywords '%s', want '%s'",
			      m->keywords, kws[i]);
		ck_assert_int_eq(m->internal_date, a[i].internal_date);
		ck_assert_int_eq(m->tz_offset, a[i].tz_offset);
		ck_assert_uint_eq(m->size, a[i].size);
		ck_assert_uint_eq(m->cache_size, a[i].cache_size);
		ck_assert_int_eq(memcmp(m->cache, a[i].cache, a[i].cache_size), 0);
		ck_assert_uint_gt(m->modseq, 0);
		kit_check_bytes(box, uids[i], msgs[i], a[i].size);
	}
	/* fetch skips UIDs that are not there */
	kit_recs_free(&recs);
	{
		uint32_t some[3] = { uids[0], uids[2], uids[3] + 50 };

		KIT_OK(kit_ops->fetch(box, some, 3, 0, kit_rec_cb, &recs, &err), err);
		ck_assert_uint_eq(recs.n, 2);
		ck_assert_uint_eq(recs.v[1].m.uid, uids[2]);
	}
	kit_ops->mailbox_close(box);
	kit_ops->user_close(u);
	/* Reopened: same UIDVALIDITY, next UID above the others. */
	u = kit_open(user);
	uid5 = kit_append_gen(u, "Drafts", 5, 100, 0);
	KIT_OK(kit_ops->mailbox_status(u, "Drafts", &info2, &err), err);
	uidv2 = info2.uidvalidity;
	ck_assert_uint_eq(uidv2, uidvalidity);
	ck_assert_uint_gt(uid5, uids[3]);
	/* To a missing mailbox. */
	KIT_FAILS(kit_ops->append(u, "missing", a, 1, &uidv2, uids, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	for (i = 0; i < 4; i++)
		free(msgs[i]);
	kit_recs_free(&recs);
	kit_done(user, u);
}
END_TEST

/* ---- store ---- */

/* One STORE step on one message and what the message must hold after. */
static const struct kit_store_step {
	enum vimap_store_mode mode;
	uint32_t flags;
	const char *keywords;
	uint32_t want_flags;
	const char *want_keywords;
	int changes;      /* the step changes the message */
} kit_store_script[] = {
	/* +FLAGS (\Seen) */
	{ VIMAP_STORE_ADD, VIMAP_FLAG_SEEN, "", VIMAP_FLAG_SEEN, "", 1 },
	/* +FLAGS (\Seen) again: nothing changes, no new modseq */
	{ VIMAP_STORE_ADD, VIMAP_FLAG_SEEN, "", VIMAP_FLAG_SEEN, "", 0 },
	/* +FLAGS (\Flagged $Work) */
	{ VIMAP_STORE_ADD, VIMAP_FLAG_FLAGGED, "$Work", VIMAP_FLAG_SEEN | VIMAP_FLAG_FLAGGED,
	  "$Work", 1 },
	/* +FLAGS ($work): keywords compare without case */
	{ VIMAP_STORE_ADD, 0, "$work", VIMAP_FLAG_SEEN | VIMAP_FLAG_FLAGGED, "$Work", 0 },
	/* -FLAGS (\Seen) */
	{ VIMAP_STORE_REMOVE, VIMAP_FLAG_SEEN, "", VIMAP_FLAG_FLAGGED, "$Work", 1 },
	/* FLAGS (\Answered a b): replaces flags and keywords */
	{ VIMAP_STORE_REPLACE, VIMAP_FLAG_ANSWERED, "a b", VIMAP_FLAG_ANSWERED, "a b", 1 },
	/* -FLAGS (a) */
	{ VIMAP_STORE_REMOVE, 0, "a", VIMAP_FLAG_ANSWERED, "b", 1 },
	/* +FLAGS (c d) */
	{ VIMAP_STORE_ADD, 0, "c d", VIMAP_FLAG_ANSWERED, "b c d", 1 },
	/* FLAGS (): everything off */
	{ VIMAP_STORE_REPLACE, 0, "", 0, "", 1 },
	/* -FLAGS (\Deleted) on a message without it */
	{ VIMAP_STORE_REMOVE, VIMAP_FLAG_DELETED, "", 0, "", 0 },
};

START_TEST(test_store_script)
{
	const char *user = "kit-store";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_recs changed = { 0 }, now = { 0 };
	struct vimap_mailbox_info info;
	uint64_t modseq, highest;
	uint32_t uid, other;
	unsigned i;
	void *u, *box;

	kit_enroll(user, 1000);
	u = kit_open(user);
	uid = kit_append_gen(u, "INBOX", 1, 400, 0);
	other = kit_append_gen(u, "INBOX", 2, 400, 0);
	box = kit_box(u, "INBOX", &info);
	highest = info.highestmodseq;
	modseq = kit_fetch_one(box, uid, 0, &now)->modseq;
	for (i = 0; i < sizeof(kit_store_script) / sizeof(kit_store_script[0]); i++) {
		const struct kit_store_step *s = &kit_store_script[i];
		const struct vimap_message *m;

		kit_recs_free(&changed);
		KIT_OK(kit_ops->store(box, &uid, 1, s->mode, s->flags, s->keywords, kit_rec_cb,
				      &changed, &err), err);
		ck_assert_msg(changed.n == (unsigned)s->changes, "step %u: %u changed", i, changed.n);
		m = kit_fetch_one(box, uid, 0, &now);
		ck_assert_ptr_nonnull(m);
		ck_assert_msg(m->flags == s->want_flags, "step %u: flags %#x, want %#x", i,
			      m->flags, s->want_flags);
		ck_assert_msg(kit_kw_equal(m->keywords, s->want_keywords),
			      "step %u: keywords '%s', want '%s'", i, m->keywords, s->want_keywords);
		if (s->changes) {
			/* The callback has the new record; the modseq grew past
			   everything before. */
			ck_assert_uint_eq(changed.v[0].m.uid, uid);
			ck_assert_uint_eq(changed.v[0].m.flags, s->want_flags);
			ck_assert_uint_eq(changed.v[0].m.modseq, m->modseq);
			ck_assert_uint_gt(m->modseq, modseq);
			ck_assert_uint_gt(m->modseq, highest);
			KIT_OK(kit_ops->mailbox_sync(box, m->modseq, 0, NULL, NULL, NULL, &info, &err),
			       err);
			ck_assert_uint_eq(info.highestmodseq, m->modseq);
			highest = info.highestmodseq;
		} else {
			ck_assert_uint_eq(m->modseq, modseq);
		}
		modseq = m->modseq;
		ck_assert_uint_eq(kit_status(u, "INBOX").unseen,
				  1 + ((s->want_flags & VIMAP_FLAG_SEEN) == 0));
	}
	/* The other message was never touched. */
	ck_assert_uint_eq(kit_fetch_one(box, other, 0, &now)->flags, 0);
	kit_ops->mailbox_close(box);
	kit_recs_free(&changed);
	kit_recs_free(&now);
	kit_done(user, u);
}
END_TEST

/* A STORE over many UIDs (with gaps and missing ones) reports each change
   in ascending order, and unseen follows. */
START_TEST(test_store_many)
{
	const char *user = "kit-storemany";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_recs changed = { 0 };
	uint32_t uids[20], sel[12];
	unsigned i, n = 0;
	void *u, *box;

	kit_enroll(user, 1000);
	u = kit_open(user);
	for (i = 0; i < 20; i++)
		uids[i] = kit_append_gen(u, "INBOX", i, 100, i < 5 ? VIMAP_FLAG_SEEN : 0);
	for (i = 0; i < 20; i += 2)
		sel[n++] = uids[i];
	sel[n++] = uids[19] + 1;
	sel[n++] = uids[19] + 7;
	box = kit_box(u, "INBOX", NULL);
	KIT_OK(kit_ops->store(box, sel, n, VIMAP_STORE_ADD, VIMAP_FLAG_SEEN, "", kit_rec_cb,
			      &changed, &err), err);
	/* uids[0], [2], [4] were seen already: 7 of the 10 change. */
	ck_assert_uint_eq(changed.n, 7);
	ck_assert_int_eq(changed.unordered, 0);
	ck_assert_uint_eq(kit_status(u, "INBOX").unseen, 15 - 7);
	kit_ops->mailbox_close(box);
	kit_recs_free(&changed);
	kit_done(user, u);
}
END_TEST

/* ---- expunge ---- */

/* EXPUNGE removes only \Deleted messages; with a UID list only those of
   the list; the callback gets each UID removed; counts and quota follow. */
START_TEST(test_expunge)
{
	const char *user = "kit-expunge";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_recs gone = { 0 }, left = { 0 };
	struct vimap_mailbox_info info;
	uint64_t limit, used_before, used_after;
	uint32_t uids[6], del[3], list[3];
	unsigned i;
	void *u, *box;

	kit_enroll(user, 1000);
	u = kit_open(user);
	for (i = 0; i < 6; i++)
		uids[i] = kit_append_gen(u, "INBOX", i, 5000, 0);
	box = kit_box(u, "INBOX", NULL);
	del[0] = uids[1];
	del[1] = uids[3];
	del[2] = uids[4];
	KIT_OK(kit_ops->store(box, del, 3, VIMAP_STORE_ADD, VIMAP_FLAG_DELETED, "", NULL, NULL,
			      &err), err);
	KIT_OK(kit_ops->quota_get(kit_state, user, &limit, &used_before, &err), err);
	/* uids[0] is in the list but not \Deleted: it stays. */
	list[0] = uids[0];
	list[1] = uids[1];
	list[2] = uids[3];
	KIT_OK(kit_ops->expunge(box, list, 3, kit_uid_cb, &gone, &err), err);
	ck_assert_uint_eq(gone.nuids, 2);
	ck_assert_uint_eq(gone.uids[0], uids[1]);
	ck_assert_uint_eq(gone.uids[1], uids[3]);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 4);
	/* Without a list: every \Deleted message. */
	kit_recs_free(&gone);
	KIT_OK(kit_ops->expunge(box, NULL, 0, kit_uid_cb, &gone, &err), err);
	ck_assert_uint_eq(gone.nuids, 1);
	ck_assert_uint_eq(gone.uids[0], uids[4]);
	KIT_OK(kit_ops->mailbox_sync(box, 0, 0, kit_rec_cb, NULL, &left, &info, &err), err);
	ck_assert_uint_eq(left.n, 3);
	ck_assert_uint_eq(left.v[0].m.uid, uids[0]);
	ck_assert_uint_eq(left.v[1].m.uid, uids[2]);
	ck_assert_uint_eq(left.v[2].m.uid, uids[5]);
	ck_assert_uint_eq(info.messages, 3);
	KIT_OK(kit_ops->quota_get(kit_state, user, &limit, &used_after, &err), err);
	ck_assert_uint_eq(used_before - used_after, 3 * 2);
	KIT_FAILS(kit_ops->open_message(box, uids[1], &(struct vimap_message_data){ 0 }, &err),
		  err, VIMAP_STORAGE_ERR_NONEXISTENT);
	kit_ops->mailbox_close(box);
	kit_recs_free(&gone);
	kit_recs_free(&left);
	kit_done(user, u);
}
END_TEST

/* ---- copy and move ---- */

/* COPY maps UIDs (0 for a missing one), copies flags, keywords and bytes,
   leaves the source; MOVE reports the sources expunged; counts follow. */
START_TEST(test_copy_move)
{
	const char *user = "kit-copy";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_recs recs = { 0 }, gone = { 0 };
	uint32_t uids[4], sel[3], dest[3], mv[2], mvdest[2], uidv, trash_uidv;
	char *msgs[4];
	size_t lens[4];
	unsigned i;
	void *u, *box, *trash;

	kit_enroll(user, 10000);
	u = kit_open(user);
	for (i = 0; i < 4; i++) {
		msgs[i] = kit_message(40 + i, 1000 * (i + 1), &lens[i]);
		uids[i] = kit_append(u, "INBOX", msgs[i], lens[i], i == 0 ? VIMAP_FLAG_SEEN : 0,
				     i == 2 ? "$Label1" : "", NULL);
	}
	box = kit_box(u, "INBOX", NULL);
	trash_uidv = kit_status(u, "Trash").uidvalidity;
	sel[0] = uids[0];
	sel[1] = uids[2];
	sel[2] = uids[3] + 10;
	KIT_OK(kit_ops->copy(box, sel, 3, "Trash", 0, &uidv, dest, kit_uid_cb, &gone, &err), err);
	ck_assert_uint_eq(uidv, trash_uidv);
	ck_assert_uint_gt(dest[0], 0);
	ck_assert_uint_gt(dest[1], dest[0]);
	ck_assert_uint_eq(dest[2], 0);
	ck_assert_uint_eq(gone.nuids, 0);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 4);
	ck_assert_uint_eq(kit_status(u, "Trash").messages, 2);
	ck_assert_uint_eq(kit_status(u, "Trash").unseen, 1);
	ck_assert_uint_eq(kit_status(u, "Trash").size, lens[0] + lens[2]);
	trash = kit_box(u, "Trash", NULL);
	KIT_OK(kit_ops->fetch(trash, dest, 2, 0, kit_rec_cb, &recs, &err), err);
	ck_assert_uint_eq(recs.n, 2);
	ck_assert_uint_eq(recs.v[0].m.flags, VIMAP_FLAG_SEEN);
	ck_assert_msg(kit_kw_equal(recs.v[1].m.keywords, "$Label1"), "%s", recs.v[1].m.keywords);
	kit_check_bytes(trash, dest[0], msgs[0], lens[0]);
	kit_check_bytes(trash, dest[1], msgs[2], lens[2]);
	/* The source still reads the same. */
	kit_check_bytes(box, uids[0], msgs[0], lens[0]);
	/* MOVE */
	mv[0] = uids[1];
	mv[1] = uids[3];
	KIT_OK(kit_ops->copy(box, mv, 2, "Trash", 1, &uidv, mvdest, kit_uid_cb, &gone, &err), err);
	ck_assert_uint_gt(mvdest[0], dest[1]);
	ck_assert_uint_gt(mvdest[1], mvdest[0]);
	ck_assert_uint_eq(gone.nuids, 2);
	ck_assert_uint_eq(gone.uids[0], uids[1]);
	ck_assert_uint_eq(gone.uids[1], uids[3]);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 2);
	ck_assert_uint_eq(kit_status(u, "Trash").messages, 4);
	kit_check_bytes(trash, mvdest[0], msgs[1], lens[1]);
	kit_check_bytes(trash, mvdest[1], msgs[3], lens[3]);
	KIT_FAILS(kit_ops->open_message(box, uids[1], &(struct vimap_message_data){ 0 }, &err),
		  err, VIMAP_STORAGE_ERR_NONEXISTENT);
	/* To a mailbox that is not there. */
	KIT_FAILS(kit_ops->copy(box, uids, 1, "nowhere", 0, &uidv, dest, NULL, NULL, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	for (i = 0; i < 4; i++)
		free(msgs[i]);
	kit_ops->mailbox_close(trash);
	kit_ops->mailbox_close(box);
	kit_recs_free(&recs);
	kit_recs_free(&gone);
	kit_done(user, u);
}
END_TEST

/* ---- sync ---- */

/* mailbox_sync since a modseq reports exactly what changed after it
   (flag changes, appends) and what was expunged after it, including
   changes made through another session of the same user. */
START_TEST(test_sync_since)
{
	const char *user = "kit-sync";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_recs all = { 0 }, since = { 0 };
	struct vimap_mailbox_info info, info2;
	uint32_t uids[5], newuid;
	uint64_t h0;
	unsigned i;
	void *u, *u2, *box, *box2;

	kit_enroll(user, 1000);
	u = kit_open(user);
	u2 = kit_open(user);
	for (i = 0; i < 5; i++)
		uids[i] = kit_append_gen(u, "INBOX", i, 300, 0);
	box = kit_box(u, "INBOX", NULL);
	KIT_OK(kit_ops->mailbox_sync(box, 0, 0, kit_rec_cb, kit_uid_cb, &all, &info, &err), err);
	ck_assert_uint_eq(all.n, 5);
	ck_assert_uint_eq(all.nuids, 0);
	ck_assert_int_eq(all.unordered, 0);
	ck_assert_uint_eq(info.messages, 5);
	h0 = info.highestmodseq;
	for (i = 0; i < 5; i++)
		ck_assert_uint_le(all.v[i].m.modseq, h0);
	/* Nothing changed since h0. */
	KIT_OK(kit_ops->mailbox_sync(box, h0, 0, kit_rec_cb, kit_uid_cb, &since, &info, &err), err);
	ck_assert_uint_eq(since.n, 0);
	ck_assert_uint_eq(since.nuids, 0);
	/* The other session: a flag change, an expunge, an append. */
	box2 = kit_box(u2, "INBOX", NULL);
	KIT_OK(kit_ops->store(box2, &uids[1], 1, VIMAP_STORE_ADD, VIMAP_FLAG_FLAGGED, "", NULL,
			      NULL, &err), err);
	KIT_OK(kit_ops->store(box2, &uids[3], 1, VIMAP_STORE_ADD, VIMAP_FLAG_DELETED, "", NULL,
			      NULL, &err), err);
	KIT_OK(kit_ops->expunge(box2, &uids[3], 1, NULL, NULL, &err), err);
	newuid = kit_append_gen(u2, "INBOX", 9, 300, 0);
	kit_ops->mailbox_close(box2);
	KIT_OK(kit_ops->mailbox_sync(box, h0, 0, kit_rec_cb, kit_uid_cb, &since, &info2, &err),
	       err);
	ck_assert_uint_eq(since.n, 2);
	ck_assert_uint_eq(since.v[0].m.uid, uids[1]);
	ck_assert_uint_eq(since.v[0].m.flags, VIMAP_FLAG_FLAGGED);
	ck_assert_uint_eq(since.v[1].m.uid, newuid);
	ck_assert_uint_gt(since.v[0].m.modseq, h0);
	ck_assert_uint_gt(since.v[1].m.modseq, h0);
	ck_assert_uint_eq(since.nuids, 1);
	ck_assert_uint_eq(since.uids[0], uids[3]);
	ck_assert_uint_gt(info2.highestmodseq, h0);
	ck_assert_uint_eq(info2.messages, 5);
	ck_assert_uint_gt(info2.uidnext, newuid);
	/* And nothing since the new highest. */
	kit_recs_free(&since);
	KIT_OK(kit_ops->mailbox_sync(box, info2.highestmodseq, 0, kit_rec_cb, kit_uid_cb, &since,
				     &info, &err), err);
	ck_assert_uint_eq(since.n, 0);
	ck_assert_uint_eq(since.nuids, 0);
	kit_ops->mailbox_close(box);
	kit_ops->user_close(u2);
	kit_recs_free(&all);
	kit_recs_free(&since);
	kit_done(user, u);
}
END_TEST

/* claim_recent hands the \Recent messages to one caller: the first claim
   returns a UID at or below the first message, the next one returns the
   UIDNEXT of the first (nothing new), new messages go to the next claim. */
START_TEST(test_claim_recent)
{
	const char *user = "kit-recent";
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info info;
	uint32_t first, again, later, a, b;
	void *u, *box, *box2;

	kit_enroll(user, 1000);
	u = kit_open(user);
	a = kit_append_gen(u, "INBOX", 1, 100, 0);
	kit_append_gen(u, "INBOX", 2, 100, 0);
	box = kit_box(u, "INBOX", &info);
	KIT_OK(kit_ops->claim_recent(box, &first, &err), err);
	ck_assert_uint_le(first, a);
	KIT_OK(kit_ops->claim_recent(box, &again, &err), err);
	ck_assert_uint_eq(again, info.uidnext);
	b = kit_append_gen(u, "INBOX", 3, 100, 0);
	box2 = kit_box(u, "INBOX", NULL);
	KIT_OK(kit_ops->claim_recent(box2, &later, &err), err);
	ck_assert_uint_eq(later, again);
	ck_assert_uint_le(later, b);
	KIT_OK(kit_ops->mailbox_sync(box, 0, 0, NULL, NULL, NULL, &info, &err), err);
	ck_assert_uint_gt(info.first_recent_uid, b);
	kit_ops->mailbox_close(box2);
	kit_ops->mailbox_close(box);
	kit_done(user, u);
}
END_TEST

/* STATUS counts: messages, unseen, size, uidnext, for a mix of flags. */
START_TEST(test_status_counts)
{
	const char *user = "kit-status";
	struct vimap_mailbox_info info;
	uint32_t last = 0;
	uint64_t size = 0;
	unsigned i, unseen = 0;
	void *u;

	kit_enroll(user, 10000);
	u = kit_open(user);
	info = kit_status(u, "Sent");
	ck_assert_uint_eq(info.messages, 0);
	ck_assert_uint_eq(info.unseen, 0);
	ck_assert_uint_eq(info.size, 0);
	ck_assert_uint_ge(info.uidnext, 1);
	ck_assert_uint_gt(info.uidvalidity, 0);
	for (i = 0; i < 7; i++) {
		uint32_t flags = i % 3 == 0 ? VIMAP_FLAG_SEEN : VIMAP_FLAG_ANSWERED;

		last = kit_append_gen(u, "Sent", i, 100 + i * 1000, flags);
		size += 100 + i * 1000;
		unseen += (flags & VIMAP_FLAG_SEEN) == 0;
	}
	info = kit_status(u, "Sent");
	ck_assert_uint_eq(info.messages, 7);
	ck_assert_uint_eq(info.unseen, unseen);
	ck_assert_uint_eq(info.size, size);
	ck_assert_uint_eq(info.uidnext, last + 1);
	ck_assert_uint_eq(info.special_use, VIMAP_SPECIAL_SENT);
	kit_done(user, u);
}
END_TEST

/* The recent count of mailbox_status, mailbox_open and mailbox_sync. */
static void kit_check_recent(void *u, void *box, const char *name, uint32_t want)
{
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info info;
	void *other;

	ck_assert_uint_eq(kit_status(u, name).recent, want);
	memset(&info, 0xff, sizeof(info));
	other = kit_box(u, name, &info);
	ck_assert_uint_eq(info.recent, want);
	kit_ops->mailbox_close(other);
	if (box != NULL) {
		memset(&info, 0xff, sizeof(info));
		KIT_OK(kit_ops->mailbox_sync(box, 0, 0, NULL, NULL, NULL, &info, &err), err);
		ck_assert_uint_eq(info.recent, want);
	}
}

/* STATUS RECENT: `recent` counts the messages from first_recent_uid on.
   Every message of a mailbox never claimed is recent; after claim_recent
   none is (for every new status call) until new messages arrive; an
   expunged recent message no longer counts; COPY and MOVE bring recent
   messages; other mailboxes are not touched. */
START_TEST(test_status_recent)
{
	const char *user = "kit-status-recent";
	struct vimap_storage_error err = { 0, NULL };
	uint32_t first, uids[3], del, dest[1], uidv;
	void *u, *box, *box2;
	unsigned i;

	kit_enroll(user, 10000);
	u = kit_open(user);
	box = kit_box(u, "INBOX", NULL);
	kit_check_recent(u, box, "INBOX", 0);
	for (i = 0; i < 3; i++)
		kit_append_gen(u, "INBOX", i, 200, i == 0 ? VIMAP_FLAG_SEEN : 0);
	/* Never claimed: all three, \Seen or not. */
	kit_check_recent(u, box, "INBOX", 3);
	KIT_OK(kit_ops->claim_recent(box, &first, &err), err);
	kit_check_recent(u, box, "INBOX", 0);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 3);
	for (i = 0; i < 3; i++)
		uids[i] = kit_append_gen(u, "INBOX", 10 + i, 200, 0);
	kit_check_recent(u, box, "INBOX", 3);
	/* An expunged recent message is not counted any more. */
	del = uids[1];
	KIT_OK(kit_ops->store(box, &del, 1, VIMAP_STORE_ADD, VIMAP_FLAG_DELETED, "", NULL, NULL,
			      &err), err);
	KIT_OK(kit_ops->expunge(box, &del, 1, NULL, NULL, &err), err);
	kit_check_recent(u, box, "INBOX", 2);
	/* Another session claims them: recent is 0 for everyone's status. */
	box2 = kit_box(u, "INBOX", NULL);
	KIT_OK(kit_ops->claim_recent(box2, &first, &err), err);
	ck_assert_uint_le(first, uids[0]);
	kit_check_recent(u, box, "INBOX", 0);
	kit_ops->mailbox_close(box2);
	/* COPY and MOVE into Trash: recent there; INBOX stays at 0. */
	kit_check_recent(u, NULL, "Trash", 0);
	KIT_OK(kit_ops->copy(box, &uids[0], 1, "Trash", 0, &uidv, dest, NULL, NULL, &err), err);
	kit_check_recent(u, NULL, "Trash", 1);
	KIT_OK(kit_ops->copy(box, &uids[2], 1, "Trash", 1, &uidv, dest, NULL, NULL, &err), err);
	kit_check_recent(u, NULL, "Trash", 2);
	kit_check_recent(u, box, "INBOX", 0);
	kit_check_recent(u, NULL, "Sent", 0);
	kit_ops->mailbox_close(box);
	kit_done(user, u);
}
END_TEST

/* ---- many sessions ---- */

#define KIT_MANY_USERS 80

/* More sessions than a plugin would keep resources open for (80 users,
   each with a user and an INBOX handle, plus a second session of each of
   the first ten) stay usable in any order: each round appends one message
   per user (users in a scattered order), then every session sees its
   user's messages through status, sync and the bytes. */
START_TEST(test_many_sessions)
{
	struct vimap_storage_error err = { 0, NULL };
	void *u[KIT_MANY_USERS + 10], *box[KIT_MANY_USERS + 10];
	uint32_t uid[KIT_MANY_USERS];
	char user[KIT_MANY_USERS][32];
	unsigned i, round;

	for (i = 0; i < KIT_MANY_USERS; i++) {
		snprintf(user[i], sizeof(user[i]), "kit-many-%u", i);
		kit_enroll(user[i], 1000);
		u[i] = kit_open(user[i]);
		box[i] = kit_box(u[i], "INBOX", NULL);
	}
	/* Handle KIT_MANY_USERS + k is a second session of user k. */
	for (i = 0; i < 10; i++) {
		u[KIT_MANY_USERS + i] = kit_open(user[i]);
		box[KIT_MANY_USERS + i] = kit_box(u[KIT_MANY_USERS + i], "INBOX", NULL);
	}
	for (round = 0; round < 2; round++) {
		/* 37 is prime to 80: every user once, scattered. */
		for (i = 0; i < KIT_MANY_USERS; i++) {
			unsigned k = (i * 37) % KIT_MANY_USERS;

			uid[k] = kit_append_gen(u[k], "INBOX", round * 1000 + k, 300 + k, 0);
		}
		for (i = 0; i < KIT_MANY_USERS + 10; i++) {
			unsigned k = i % KIT_MANY_USERS;
			struct kit_recs recs = { 0 };
			struct vimap_mailbox_info info;
			size_t len;
			char *msg = kit_message(round * 1000 + k, 300 + k, &len);

			ck_assert_uint_eq(kit_status(u[i], "INBOX").messages, round + 1);
			KIT_OK(kit_ops->mailbox_sync(box[i], 0, 0, kit_rec_cb, NULL, &recs, &info,
						     &err), err);
			ck_assert_uint_eq(recs.n, round + 1);
			ck_assert_uint_eq(recs.v[round].m.uid, uid[k]);
			ck_assert_uint_eq(info.messages, round + 1);
			kit_check_bytes(box[i], uid[k], msg, len);
			kit_recs_free(&recs);
			free(msg);
		}
	}
	for (i = 0; i < KIT_MANY_USERS + 10; i++) {
		kit_ops->mailbox_close(box[i]);
		if (i >= KIT_MANY_USERS)
			kit_ops->user_close(u[i]);
	}
	for (i = 0; i < KIT_MANY_USERS; i++)
		kit_done(user[i], u[i]);
}
END_TEST

/* What the nested-call callbacks use. */
struct kit_nested {
	void *u, *box, *other_box;
	unsigned records, opened, fetched;
	int failed;
	char error[256];
};

/* A fetch callback that reads the message's bytes through the same box,
   the status of the same user, and a record of another box of the same
   user, as the kernel's FETCH BODY[] and SEARCH do. */
static int kit_nested_cb(void *ctx, const struct vimap_message *m)
{
	struct kit_nested *n = ctx;
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_message_data md;
	struct vimap_mailbox_info info;
	struct kit_recs recs = { 0 };
	uint32_t one = 1;

	n->records++;
	memset(&md, 0, sizeof(md));
	if (kit_ops->open_message(n->box, m->uid, &md, &err) < 0 || md.size != m->size) {
		snprintf(n->error, sizeof(n->error), "open_message(%u): %s", m->uid,
			 err.text != NULL ? err.text : "wrong size");
		n->failed = 1;
		return 0;
	}
	kit_ops->close_message(n->box, &md);
	n->opened++;
	if (kit_ops->mailbox_status(n->u, "INBOX", &info, &err) < 0 ||
	    kit_ops->fetch(n->other_box, &one, 1, VIMAP_WANT_CACHE, kit_rec_cb, &recs, &err) < 0) {
		snprintf(n->error, sizeof(n->error), "nested call: %s", err.text);
		n->failed = 1;
	}
	n->fetched += recs.n;
	kit_recs_free(&recs);
	return 0;
}

/* Plugin calls made from inside a sync or fetch callback (same box, same
   user, another box of the user) work, and the outer call still reports
   every record. */
START_TEST(test_nested_calls)
{
	const char *user = "kit-nested";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_nested n;
	uint32_t uids[20];
	unsigned i;
	void *u;

	kit_enroll(user, 10000);
	u = kit_open(user);
	for (i = 0; i < 20; i++)
		uids[i] = kit_append_gen(u, "INBOX", i, 200 + i * 50, 0);
	kit_append_gen(u, "Sent", 99, 300, 0);
	memset(&n, 0, sizeof(n));
	n.u = u;
	n.box = kit_box(u, "INBOX", NULL);
	n.other_box = kit_box(u, "Sent", NULL);
	KIT_OK(kit_ops->fetch(n.box, uids, 20, 0, kit_nested_cb, &n, &err), err);
	ck_assert_msg(!n.failed, "%s", n.error);
	ck_assert_uint_eq(n.records, 20);
	ck_assert_uint_eq(n.opened, 20);
	ck_assert_uint_eq(n.fetched, 20);
	n.records = n.opened = n.fetched = 0;
	KIT_OK(kit_ops->mailbox_sync(n.box, 0, 0, kit_nested_cb, NULL, &n, NULL, &err), err);
	ck_assert_msg(!n.failed, "%s", n.error);
	ck_assert_uint_eq(n.records, 20);
	ck_assert_uint_eq(n.opened, 20);
	kit_ops->mailbox_close(n.other_box);
	kit_ops->mailbox_close(n.box);
	kit_done(user, u);
}
END_TEST

/* ---- concurrency ---- */

struct kit_thread {
	const char *user;
	unsigned base;
	uint32_t uids[200];
	int failed;
	char error[256];
};

static void *kit_thread_append(void *arg)
{
	struct kit_thread *t = arg;
	struct vimap_storage_error err = { 0, NULL };
	void *u = NULL;
	unsigned i;

	if (kit_ops->user_open(kit_state, t->user, &u, &err) < 0) {
		snprintf(t->error, sizeof(t->error), "user_open: %s", err.text);
		t->failed = 1;
		return NULL;
	}
	for (i = 0; i < 200; i++) {
		size_t len;
		char *msg = kit_message(t->base + i, 300 + (i % 7) * 900, &len);
		struct vimap_append a = { msg, len, 0, "", 1700000000, 0, NULL, 0 };
		uint32_t uidv;

		if (kit_ops->append(u, "INBOX", &a, 1, &uidv, &t->uids[i], &err) < 0) {
			snprintf(t->error, sizeof(t->error), "append %u: %s", i, err.text);
			t->failed = 1;
			free(msg);
			break;
		}
		free(msg);
	}
	kit_ops->user_close(u);
	return NULL;
}

static int kit_uid_sort(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Two sessions of one user on two threads append 200 messages each: 400
   distinct UIDs, 400 messages. */
START_TEST(test_concurrent_sessions)
{
	const char *user = "kit-threads";
	struct kit_thread t[2];
	pthread_t th[2];
	uint32_t all[400];
	unsigned i;
	void *u;

	kit_enroll(user, 1000000);
	memset(t, 0, sizeof(t));
	for (i = 0; i < 2; i++) {
		t[i].user = user;
		t[i].base = i * 1000;
		ck_assert_int_eq(pthread_create(&th[i], NULL, kit_thread_append, &t[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(!t[i].failed, "thread %u: %s", i, t[i].error);
	}
	memcpy(all, t[0].uids, sizeof(t[0].uids));
	memcpy(all + 200, t[1].uids, sizeof(t[1].uids));
	qsort(all, 400, sizeof(all[0]), kit_uid_sort);
	for (i = 1; i < 400; i++)
		ck_assert_msg(all[i] != all[i - 1], "UID %u given twice", all[i]);
	u = kit_open(user);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 400);
	kit_done(user, u);
}
END_TEST

/* ---- crash safety ---- */

/* What the child reports after each acknowledged append. */
struct kit_ack {
	uint32_t index;
	uint32_t uid;
};

/* The crash child: appends message i (size from i) forever, writing each
   acknowledged (i, uid) to fd.  Never returns. */
static void kit_crash_child(const char *user, unsigned first, int fd)
{
	struct vimap_storage_error err = { 0, NULL };
	void *u = NULL;
	unsigned i;

	if (kit_ops->user_open(kit_state, user, &u, &err) < 0)
		_exit(2);
	for (i = first;; i++) {
		size_t len;
		char *msg = kit_message(i, 200 + (i * 2654435761u) % 30000, &len);
		struct vimap_append a = { msg, len, 0, "", 1700000000, 0, msg, 16 };
		struct kit_ack ack = { i, 0 };
		uint32_t uidv;

		if (kit_ops->append(u, "INBOX", &a, 1, &uidv, &ack.uid, &err) < 0)
			_exit(3);
		if (write(fd, &ack, sizeof(ack)) != (ssize_t)sizeof(ack))
			_exit(4);
		free(msg);
	}
}

/* Message index from the "Subject: message N" line of data. */
static long kit_message_index(const char *data, size_t size)
{
	const char *p = memmem(data, size, "Subject: message ", 17);

	return p == NULL ? -1 : strtol(p + 17, NULL, 10);
}

/* Every record in INBOX has a complete file of its recorded size whose
   content is the message its subject names; every ack is there. */
static unsigned kit_crash_verify(const char *user, const struct kit_ack *acks, unsigned nacks)
{
	struct vimap_storage_error err = { 0, NULL };
	struct kit_recs recs = { 0 };
	unsigned i, j = 0;
	void *u = kit_open(user), *box = kit_box(u, "INBOX", NULL);

	KIT_OK(kit_ops->mailbox_sync(box, 0, VIMAP_WANT_CACHE, kit_rec_cb, NULL, &recs, NULL, &err),
	       err);
	for (i = 0; i < recs.n; i++) {
		struct vimap_message_data md;
		size_t len;
		char *want;
		long idx;

		memset(&md, 0, sizeof(md));
		KIT_OK(kit_ops->open_message(box, recs.v[i].m.uid, &md, &err), err);
		ck_assert_uint_eq(md.size, recs.v[i].m.size);
		idx = kit_message_index(md.data, md.size);
		ck_assert_msg(idx >= 0, "uid %u: not a kit message", recs.v[i].m.uid);
		want = kit_message((unsigned)idx, 200 + ((unsigned)idx * 2654435761u) % 30000, &len);
		ck_assert_msg(len == md.size && memcmp(want, md.data, len) == 0,
			      "uid %u: content of message %ld damaged", recs.v[i].m.uid, idx);
		ck_assert_uint_eq(recs.v[i].m.cache_size, 16);
		ck_assert_int_eq(memcmp(recs.v[i].m.cache, want, 16), 0);
		free(want);
		kit_ops->close_message(box, &md);
	}
	/* Both lists ascend by UID: each ack must be among the records. */
	for (i = 0; i < nacks; i++) {
		while (j < recs.n && recs.v[j].m.uid < acks[i].uid)
			j++;
		ck_assert_msg(j < recs.n && recs.v[j].m.uid == acks[i].uid,
			      "acknowledged message %u (uid %u) lost", acks[i].index, acks[i].uid);
	}
	i = recs.n;
	kit_ops->mailbox_close(box);
	kit_ops->user_close(u);
	kit_recs_free(&recs);
	return i;
}

/* Reads every complete ack from fd (the child is dead: EOF ends it). */
static unsigned kit_read_acks(int fd, struct kit_ack **acks, unsigned n, unsigned *alloc)
{
	struct kit_ack ack;
	ssize_t got;

	while ((got = read(fd, &ack, sizeof(ack))) == (ssize_t)sizeof(ack)) {
		if (n == *alloc) {
			*alloc = *alloc == 0 ? 256 : *alloc * 2;
			*acks = realloc(*acks, *alloc * sizeof(**acks));
		}
		(*acks)[n++] = ack;
	}
	return n;
}

/* Kill -9 at random moments while appending: nothing acknowledged is lost,
   nothing is half visible, and the store opens again every time. */
START_TEST(test_crash_safety)
{
	const char *user = "kit-crash";
	struct kit_ack *acks = NULL;
	unsigned round, nacks = 0, alloc = 0, next = 0, total = 0;

	kit_enroll(user, 100000000);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (round = 0; round < KIT_CRASH_ROUNDS; round++) {
		int fds[2], status;
		unsigned delay_us = round == 0 ? 0 : (unsigned)(rand() % 150000) + round * 1000;
		pid_t pid;

		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			kit_crash_child(user, next, fds[1]);
		}
		close(fds[1]);
		usleep(delay_us);
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status), "child exited %d before the kill",
			      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		nacks = kit_read_acks(fds[0], &acks, nacks, &alloc);
		close(fds[0]);
		total = kit_crash_verify(user, acks, nacks);
		/* Next round's messages get indexes the last one never used. */
		next += 100000;
	}
	ck_assert_uint_ge(total, nacks);
	free(acks);
	kit_done(user, NULL);
}
END_TEST

/* ---- ABI 1.1: sharing and the store's format ---- */

/* The plugin fills the ABI 1.1 operations (sharing, format). */
START_TEST(test_ops_complete_1_1)
{
	ck_assert_msg(KIT_HAS(kit_ops, acl_list), "acl_list missing");
	ck_assert_msg(KIT_HAS(kit_ops, acl_set), "acl_set missing");
	ck_assert_msg(KIT_HAS(kit_ops, link_set), "link_set missing");
	ck_assert_msg(KIT_HAS(kit_ops, link_list), "link_list missing");
	ck_assert_msg(KIT_HAS(kit_ops, check_format), "check_format missing");
	ck_assert_msg(KIT_HAS(kit_ops, upgrade), "upgrade missing");
	ck_assert_msg(KIT_HAS(kit_ops, append_once), "append_once missing");
}
END_TEST

/* ACL entries as collected from acl_list. */
struct kit_acl {
	char ids[16][65];
	char rights[16][16];
	unsigned n;
};

static void kit_acl_cb(void *ctx, const char *identifier, const char *rights)
{
	struct kit_acl *a = ctx;

	if (a->n == 16)
		return;
	snprintf(a->ids[a->n], sizeof(a->ids[a->n]), "%s", identifier);
	snprintf(a->rights[a->n], sizeof(a->rights[a->n]), "%s", rights);
	a->n++;
}

/* The rights of `id` in a, or NULL. */
static const char *kit_acl_rights(const struct kit_acl *a, const char *id)
{
	unsigned i;

	for (i = 0; i < a->n; i++) {
		if (strcmp(a->ids[i], id) == 0)
			return a->rights[i];
	}
	return NULL;
}

static void kit_acl_read(void *u, const char *mailbox, struct kit_acl *a)
{
	struct vimap_storage_error err = { 0, NULL };

	memset(a, 0, sizeof(*a));
	KIT_OK(kit_ops->acl_list(u, mailbox, kit_acl_cb, a, &err), err);
}

/* One step of the ACL script: set `rights` for `id` on `mailbox` (NULL
   rights: rename `mailbox` to `id` or, with id NULL, delete it), then the
   number of entries `mailbox_after` must hold and the rights of `id`. */
static const struct kit_acl_step {
	const char *mailbox;
	const char *id;
	const char *rights;
	const char *check_box;
	unsigned want_n;
	const char *want_rights;     /* NULL: no entry for id */
} kit_acl_script[] = {
	/* a first grant */
	{ "shared", "bob", "lr", "shared", 1, "lr" },
	/* a second identifier, "anyone" */
	{ "shared", "anyone", "l", "shared", 2, "l" },
	/* setting again replaces the rights */
	{ "shared", "bob", "lrswi", "shared", 2, "lrswi" },
	/* empty rights remove the entry */
	{ "shared", "anyone", "", "shared", 1, NULL },
	/* removing an entry that is not there changes nothing */
	{ "shared", "carol", "", "shared", 1, NULL },
	/* entries of one mailbox are not another's */
	{ "INBOX", "carol", "lr", "INBOX", 1, "lr" },
	/* a rename takes the entries along (renamed to "moved") */
	{ "shared", "moved", NULL, "moved", 1, NULL },
	/* ... bob's rights are under the new name */
	{ "moved", "bob", "lrswi", "moved", 1, "lrswi" },
};

/* acl_set / acl_list / removal; entries follow a rename and go with a
   delete; NONEXISTENT for a mailbox that is not there. */
START_TEST(test_acl)
{
	const char *user = "kit-acl";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_acl a;
	unsigned i;
	void *u;

	ck_assert_msg(KIT_HAS(kit_ops, acl_set) && KIT_HAS(kit_ops, acl_list),
		      "acl_set/acl_list missing (ABI 1.1)");
	kit_enroll(user, 1000);
	u = kit_open(user);
	KIT_OK(kit_ops->mailbox_create(u, "shared", 0, &err), err);
	kit_acl_read(u, "shared", &a);
	ck_assert_uint_eq(a.n, 0);
	for (i = 0; i < sizeof(kit_acl_script) / sizeof(kit_acl_script[0]); i++) {
		const struct kit_acl_step *s = &kit_acl_script[i];
		const char *got;

		if (s->rights != NULL)
			KIT_OK(kit_ops->acl_set(u, s->mailbox, s->id, s->rights, &err), err);
		else
			KIT_OK(kit_ops->mailbox_rename(u, s->mailbox, s->id, &err), err);
		kit_acl_read(u, s->check_box, &a);
		ck_assert_msg(a.n == s->want_n, "step %u: %u entries, want %u", i, a.n, s->want_n);
		if (s->rights == NULL)
			continue;
		got = kit_acl_rights(&a, s->id);
		if (s->want_rights == NULL)
			ck_assert_msg(got == NULL, "step %u: %s still has '%s'", i, s->id, got);
		else
			ck_assert_msg(got != NULL && strcmp(got, s->want_rights) == 0,
				      "step %u: %s has '%s', want '%s'", i, s->id,
				      got != NULL ? got : "(none)", s->want_rights);
	}
	/* The old name has no mailbox, so no ACL. */
	KIT_FAILS(kit_ops->acl_list(u, "shared", kit_acl_cb, &a, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	KIT_FAILS(kit_ops->acl_set(u, "nope", "bob", "lr", &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	/* Deleted and created again: no entries left. */
	KIT_OK(kit_ops->mailbox_delete(u, "moved", &err), err);
	KIT_OK(kit_ops->mailbox_create(u, "moved", 0, &err), err);
	kit_acl_read(u, "moved", &a);
	ck_assert_uint_eq(a.n, 0);
	/* INBOX's entry was not touched by any of it. */
	kit_acl_read(u, "INBOX", &a);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_str_eq(a.ids[0], "carol");
	kit_done(user, u);
}
END_TEST

/* Links as collected from link_list. */
struct kit_links {
	char names[8][64], owners[8][65], boxes[8][64];
	unsigned n;
};

static void kit_link_cb(void *ctx, const char *name, const char *owner,
			const char *owner_mailbox)
{
	struct kit_links *l = ctx;

	if (l->n == 8)
		return;
	snprintf(l->names[l->n], sizeof(l->names[l->n]), "%s", name);
	snprintf(l->owners[l->n], sizeof(l->owners[l->n]), "%s", owner);
	snprintf(l->boxes[l->n], sizeof(l->boxes[l->n]), "%s", owner_mailbox);
	l->n++;
}

/* link_set / link_list: add, EXISTS on a second add, remove, NONEXISTENT
   on removing a missing link; links are per user. */
START_TEST(test_links)
{
	const char *user = "kit-links", *other = "kit-links2";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_links l;
	void *u, *u2;
	int k;

	ck_assert_msg(KIT_HAS(kit_ops, link_set) && KIT_HAS(kit_ops, link_list),
		      "link_set/link_list missing (ABI 1.1)");
	kit_enroll(user, 1000);
	kit_enroll(other, 1000);
	u = kit_open(user);
	u2 = kit_open(other);
	memset(&l, 0, sizeof(l));
	KIT_OK(kit_ops->link_list(u, kit_link_cb, &l, &err), err);
	ck_assert_uint_eq(l.n, 0);
	KIT_OK(kit_ops->link_set(u, "Shared/bob", "bob", "Projects/x", &err), err);
	KIT_OK(kit_ops->link_set(u, "team", "carol", "INBOX", &err), err);
	KIT_FAILS(kit_ops->link_set(u, "team", "dave", "INBOX", &err), err,
		  VIMAP_STORAGE_ERR_EXISTS);
	KIT_OK(kit_ops->link_list(u, kit_link_cb, &l, &err), err);
	ck_assert_uint_eq(l.n, 2);
	k = strcmp(l.names[0], "team") == 0 ? 0 : 1;
	ck_assert_str_eq(l.names[k], "team");
	ck_assert_str_eq(l.owners[k], "carol");
	ck_assert_str_eq(l.boxes[k], "INBOX");
	ck_assert_str_eq(l.names[1 - k], "Shared/bob");
	ck_assert_str_eq(l.owners[1 - k], "bob");
	ck_assert_str_eq(l.boxes[1 - k], "Projects/x");
	/* The other user has none. */
	memset(&l, 0, sizeof(l));
	KIT_OK(kit_ops->link_list(u2, kit_link_cb, &l, &err), err);
	ck_assert_uint_eq(l.n, 0);
	/* Removal. */
	KIT_OK(kit_ops->link_set(u, "team", NULL, NULL, &err), err);
	KIT_FAILS(kit_ops->link_set(u, "team", NULL, NULL, &err), err,
		  VIMAP_STORAGE_ERR_NONEXISTENT);
	memset(&l, 0, sizeof(l));
	KIT_OK(kit_ops->link_list(u, kit_link_cb, &l, &err), err);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.names[0], "Shared/bob");
	/* Removed again with the user. */
	kit_ops->user_close(u2);
	KIT_OK(kit_ops->unenroll(kit_state, other, &err), err);
	kit_done(user, u);
}
END_TEST

/* append_once: a second delivery with the same id stores nothing and
   reports the first UID; another id stores another message; ids are per
   user. */
START_TEST(test_append_once)
{
	const char *user = "kit-once", *other = "kit-once2";
	struct vimap_storage_error err = { 0, NULL };
	uint32_t uid1 = 0, uid2 = 0, uid3 = 0, uidv1 = 0, uidv2 = 0, uidv3 = 0;
	int dup = -1;
	size_t len;
	char *msg = kit_message(3, 2000, &len);
	struct vimap_append a = { msg, len, 0, "", 1700000000, 0, NULL, 0 };
	void *u, *u2;

	ck_assert_msg(KIT_HAS(kit_ops, append_once), "append_once missing (ABI 1.1)");
	kit_enroll(user, 1000);
	kit_enroll(other, 1000);
	u = kit_open(user);
	u2 = kit_open(other);
	KIT_OK(kit_ops->append_once(u, "INBOX", &a, "spool:1", &uidv1, &uid1, &dup, &err), err);
	ck_assert_int_eq(dup, 0);
	ck_assert_uint_gt(uid1, 0);
	/* The same id again: nothing stored, the first UID back. */
	dup = -1;
	KIT_OK(kit_ops->append_once(u, "INBOX", &a, "spool:1", &uidv2, &uid2, &dup, &err), err);
	ck_assert_int_eq(dup, 1);
	ck_assert_uint_eq(uid2, uid1);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 1);
	/* Another id: another message. */
	KIT_OK(kit_ops->append_once(u, "INBOX", &a, "spool:2", &uidv3, &uid3, &dup, &err), err);
	ck_assert_int_eq(dup, 0);
	ck_assert_uint_gt(uid3, uid1);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 2);
	/* Ids are the user's: another user gets the same id stored. */
	KIT_OK(kit_ops->append_once(u2, "INBOX", &a, "spool:1", &uidv2, &uid2, &dup, &err), err);
	ck_assert_int_eq(dup, 0);
	ck_assert_uint_eq(kit_status(u2, "INBOX").messages, 1);
	free(msg);
	kit_ops->user_close(u2);
	KIT_OK(kit_ops->unenroll(kit_state, other, &err), err);
	kit_done(user, u);
}
END_TEST

/* open_message called from inside a fetch callback, as SEARCH BODY and
   FETCH BODY[] do: a plugin that reads bodies ahead (sfs) must hand each
   caller its own message's bytes, also when the callback skips some and
   when a message is too large to be read ahead. */
struct kit_ahead {
	void *box;
	char **bodies;           /* expected bytes by index */
	size_t *sizes;
	const uint32_t *uids;
	unsigned count, opened;
	char error[256];
};

static int kit_ahead_cb(void *arg, const struct vimap_message *m)
{
	struct kit_ahead *n = arg;
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_message_data md;
	unsigned i;

	for (i = 0; i < n->count && n->uids[i] != m->uid; i++)
		;
	if (i == n->count || i % 3 == 1)  /* every third one skipped */
		return 0;
	if (kit_ops->open_message(n->box, m->uid, &md, &err) < 0) {
		snprintf(n->error, sizeof(n->error), "open_message(%u): %s", m->uid, err.text);
		return 0;
	}
	if (md.size != n->sizes[i] || memcmp(md.data, n->bodies[i], md.size) != 0)
		snprintf(n->error, sizeof(n->error), "UID %u: other bytes than appended", m->uid);
	kit_ops->close_message(n->box, &md);
	n->opened++;
	return 0;
}

START_TEST(test_open_inside_fetch)
{
	const char *user = "kit-ahead";
	struct vimap_storage_error err = { 0, NULL };
	struct kit_ahead n;
	uint32_t uids[40];
	char *bodies[40];
	size_t sizes[40];
	unsigned i, want = 0;
	void *u;

	memset(&n, 0, sizeof(n));
	kit_enroll(user, 100000);
	u = kit_open(user);
	for (i = 0; i < 40; i++) {
		/* Mostly small; two above 256 KB and one above 1 MB. */
		size_t size = i == 7 ? 300000 : i == 20 ? 1200000 : i == 33 ? 262145 : 500 + i * 97;

		bodies[i] = kit_message(i, size, &sizes[i]);
		uids[i] = kit_append(u, "INBOX", bodies[i], sizes[i], 0, "", NULL);
		want += i % 3 != 1;
	}
	n.box = kit_box(u, "INBOX", NULL);
	n.bodies = bodies;
	n.sizes = sizes;
	n.uids = uids;
	n.count = 40;
	KIT_OK(kit_ops->fetch(n.box, uids, 40, VIMAP_WANT_CACHE, kit_ahead_cb, &n, &err), err);
	ck_assert_msg(n.error[0] == '\0', "%s", n.error);
	ck_assert_uint_eq(n.opened, want);
	/* Again without the cache blob, and for a scattered subset. */
	n.opened = 0;
	KIT_OK(kit_ops->fetch(n.box, uids + 5, 20, 0, kit_ahead_cb, &n, &err), err);
	ck_assert_msg(n.error[0] == '\0', "%s", n.error);
	ck_assert_uint_gt(n.opened, 0);
	kit_ops->mailbox_close(n.box);
	for (i = 0; i < 40; i++)
		free(bodies[i]);
	kit_done(user, u);
}
END_TEST

static void kit_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
	unsigned *calls = ctx;

	ck_assert_uint_le(done, total);
	(*calls)++;
}

/* check_format passes on the store the set-up prepared (upgraded when it
   was new); upgrade again is harmless: it succeeds, the format still
   checks, and a user's mail is untouched. */
START_TEST(test_format_upgrade)
{
	const char *user = "kit-format";
	struct vimap_storage_error err = { 0, NULL };
	unsigned calls = 0;
	uint32_t uid;
	size_t len;
	char *msg;
	void *u, *box;

	ck_assert_msg(KIT_HAS(kit_ops, check_format) && KIT_HAS(kit_ops, upgrade),
		      "check_format/upgrade missing (ABI 1.1)");
	KIT_OK(kit_ops->check_format(kit_state, &err), err);
	kit_enroll(user, 1000);
	u = kit_open(user);
	msg = kit_message(7, 3000, &len);
	uid = kit_append(u, "INBOX", msg, len, VIMAP_FLAG_FLAGGED, "kw", NULL);
	KIT_OK(kit_ops->upgrade(kit_state, kit_progress_cb, &calls, &err), err);
	KIT_OK(kit_ops->upgrade(kit_state, NULL, NULL, &err), err);
	KIT_OK(kit_ops->check_format(kit_state, &err), err);
	/* The handles made before still work; the mail is all there. */
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 1);
	box = kit_box(u, "INBOX", NULL);
	kit_check_bytes(box, uid, msg, len);
	kit_ops->mailbox_close(box);
	kit_ops->user_close(u);
	u = kit_open(user);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 1);
	free(msg);
	kit_done(user, u);
}
END_TEST

/* ---- two plugin instances on one filepool ---- */

struct kit_instance_thread {
	const struct vimap_storage_ops *ops;
	void *state;
	const char *user;
	unsigned base;
	uint32_t uids[150];
	int failed;
	char error[256];
};

static void *kit_instance_append(void *arg)
{
	struct kit_instance_thread *t = arg;
	struct vimap_storage_error err = { 0, NULL };
	void *u = NULL;
	unsigned i;

	if (t->ops->user_open(t->state, t->user, &u, &err) < 0) {
		snprintf(t->error, sizeof(t->error), "user_open: %s", err.text);
		t->failed = 1;
		return NULL;
	}
	for (i = 0; i < 150; i++) {
		size_t len;
		char *msg = kit_message(t->base + i, 200 + (i % 5) * 700, &len);
		struct vimap_append a = { msg, len, 0, "", 1700000000, 0, NULL, 0 };
		uint32_t uidv;

		if (t->ops->append(u, "INBOX", &a, 1, &uidv, &t->uids[i], &err) < 0) {
			snprintf(t->error, sizeof(t->error), "append %u: %s", i, err.text);
			t->failed = 1;
			free(msg);
			break;
		}
		free(msg);
	}
	t->ops->user_close(u);
	return NULL;
}

/* Every record of `box` (opened through `ops`) from modseq 0, into r. */
static void kit_sync_all(const struct vimap_storage_ops *ops, void *box, struct kit_recs *r)
{
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info info;

	kit_recs_free(r);
	KIT_OK(ops->mailbox_sync(box, 0, 0, kit_rec_cb, NULL, r, &info, &err), err);
	ck_assert(!r->unordered);
}

/* Every record of uids[0..n) with its cache blob, through fetch, into r. */
static void kit_fetch_cache(const struct vimap_storage_ops *ops, void *box,
			    const uint32_t *uids, unsigned n, struct kit_recs *r)
{
	struct vimap_storage_error err = { 0, NULL };

	kit_recs_free(r);
	KIT_OK(ops->fetch(box, uids, n, VIMAP_WANT_CACHE, kit_rec_cb, r, &err), err);
	ck_assert(!r->unordered);
}

/* Records a and b are the same, cache blob included. */
static void kit_rec_same(const struct kit_rec *a, const struct kit_rec *b)
{
	ck_assert_uint_eq(a->m.uid, b->m.uid);
	ck_assert_uint_eq(a->m.flags, b->m.flags);
	ck_assert_uint_eq(a->m.modseq, b->m.modseq);
	ck_assert_str_eq(a->m.keywords, b->m.keywords);
	ck_assert_uint_eq(a->m.size, b->m.size);
	ck_assert_int_eq(a->m.internal_date, b->m.internal_date);
	ck_assert_uint_eq(a->m.cache_size, b->m.cache_size);
	ck_assert((a->cache == NULL) == (b->cache == NULL));
	if (a->cache != NULL)
		ck_assert(memcmp(a->cache, b->cache, a->m.cache_size) == 0);
}

/* The second instance fetches every record with its cache blob twice (a
   plugin may answer the second from memory): the same both times; the
   first instance appends a message with a blob, and the second's next
   such fetch has it, the blob byte for byte. */
static void kit_instances_blobs(const struct vimap_storage_ops *ops2, void *box2, void *u,
				const struct kit_recs *synced)
{
	static const char blob[] = "kit blob\0with a NUL, \x01\xff binary";
	static const char msg[] = "Subject: blob\r\n\r\nbody\r\n";
	struct vimap_append a = { msg, sizeof(msg) - 1, 0, "", 1700000000, 60, blob,
				  sizeof(blob) };
	struct vimap_storage_error err = { 0, NULL };
	struct kit_recs one = { 0 }, two = { 0 };
	uint32_t *uids = malloc((synced->n + 1) * sizeof(*uids));
	uint32_t uid = 0, uidvalidity = 0;
	unsigned i, n = synced->n;

	ck_assert_ptr_nonnull(uids);
	for (i = 0; i < n; i++)
		uids[i] = synced->v[i].m.uid;
	kit_fetch_cache(ops2, box2, uids, n, &one);
	kit_fetch_cache(ops2, box2, uids, n, &two);
	ck_assert_uint_eq(one.n, n);
	ck_assert_uint_eq(two.n, n);
	for (i = 0; i < n; i++)
		kit_rec_same(&one.v[i], &two.v[i]);
	KIT_OK(kit_ops->append(u, "INBOX", &a, 1, &uidvalidity, &uid, &err), err);
	uids[n] = uid;
	kit_fetch_cache(ops2, box2, uids, n + 1, &two);
	ck_assert_uint_eq(two.n, n + 1);
	for (i = 0; i < n; i++)
		kit_rec_same(&one.v[i], &two.v[i]);
	ck_assert_uint_eq(two.v[n].m.uid, uid);
	ck_assert_uint_eq(two.v[n].m.size, sizeof(msg) - 1);
	ck_assert_uint_eq(two.v[n].m.cache_size, sizeof(blob));
	ck_assert_ptr_nonnull(two.v[n].cache);
	ck_assert(memcmp(two.v[n].cache, blob, sizeof(blob)) == 0);
	kit_recs_free(&one);
	kit_recs_free(&two);
	free(uids);
}

/* Two instances of the plugin loaded on the same filepool (as two vimapd
   processes would be) append to one mailbox at the same time: every UID
   is given once, every message is there, and each instance sees the
   other's messages, and a sync from 0 of one shows the other's later
   STORE and EXPUNGE (even when it syncs from a list kept in memory), and
   its fetches with the cache blob the other's later APPEND. */
START_TEST(test_two_instances)
{
	const char *user = "kit-instances";
	struct vimap_plugin_ctx *second = NULL;
	struct kit_instance_thread t[2];
	const char *error = NULL;
	pthread_t th[2];
	uint32_t all[300];
	unsigned i;
	void *u, *u2 = NULL, *box, *box2 = NULL;
	struct kit_recs recs = { 0 };
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info info;

	ck_assert_msg(loader_open(kit_dir, kit_name, VIMAP_PLUGIN_STORAGE, &second, &error) == 0,
		      "%s", error);
	ck_assert_msg(loader_init(second, config_plugin_section(kit_cfg, kit_name), &error) == 0,
		      "%s", error);
	kit_enroll(user, 1000000);
	memset(t, 0, sizeof(t));
	for (i = 0; i < 2; i++) {
		t[i].ops = i == 0 ? kit_ops : second->desc->ops;
		t[i].state = i == 0 ? kit_state : second->state;
		t[i].user = user;
		t[i].base = i * 1000;
		ck_assert_int_eq(pthread_create(&th[i], NULL, kit_instance_append, &t[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(!t[i].failed, "instance %u: %s", i, t[i].error);
	}
	memcpy(all, t[0].uids, sizeof(t[0].uids));
	memcpy(all + 150, t[1].uids, sizeof(t[1].uids));
	qsort(all, 300, sizeof(all[0]), kit_uid_sort);
	for (i = 1; i < 300; i++)
		ck_assert_msg(all[i] != all[i - 1], "UID %u given twice", all[i]);
	u = kit_open(user);
	ck_assert_uint_eq(kit_status(u, "INBOX").messages, 300);
	KIT_OK(t[1].ops->user_open(t[1].state, user, &u2, &err), err);
	KIT_OK(t[1].ops->mailbox_status(u2, "INBOX", &info, &err), err);
	ck_assert_uint_eq(info.messages, 300);
	ck_assert_uint_eq(info.uidnext, all[299] + 1);
	/* The second instance's syncs from 0 (SELECT; a plugin may answer
	   them from memory) show what the first one changed in between. */
	box = kit_box(u, "INBOX", NULL);
	KIT_OK(t[1].ops->mailbox_open(u2, "INBOX", &box2, &info, &err), err);
	kit_sync_all(t[1].ops, box2, &recs);
	kit_sync_all(t[1].ops, box2, &recs);
	ck_assert_uint_eq(recs.n, 300);
	ck_assert_uint_eq(recs.v[7].m.flags & VIMAP_FLAG_FLAGGED, 0);
	KIT_OK(kit_ops->store(box, &all[7], 1, VIMAP_STORE_ADD, VIMAP_FLAG_FLAGGED, "$kit",
			      NULL, NULL, &err), err);
	kit_sync_all(t[1].ops, box2, &recs);
	ck_assert_uint_eq(recs.n, 300);
	ck_assert_uint_ne(recs.v[7].m.flags & VIMAP_FLAG_FLAGGED, 0);
	ck_assert_str_eq(recs.v[7].m.keywords, "$kit");
	KIT_OK(kit_ops->store(box, &all[7], 1, VIMAP_STORE_ADD, VIMAP_FLAG_DELETED, "",
			      NULL, NULL, &err), err);
	KIT_OK(kit_ops->expunge(box, &all[7], 1, NULL, NULL, &err), err);
	kit_sync_all(t[1].ops, box2, &recs);
	ck_assert_uint_eq(recs.n, 299);
	ck_assert_uint_eq(recs.v[7].m.uid, all[8]);
	kit_instances_blobs(t[1].ops, box2, u, &recs);
	kit_recs_free(&recs);
	t[1].ops->mailbox_close(box2);
	kit_ops->mailbox_close(box);
	t[1].ops->user_close(u2);
	loader_close(&second);
	kit_done(user, u);
}
END_TEST

/* ---- main ---- */

static Suite *kit_suite(void)
{
	Suite *s = suite_create("storage-kit");
	TCase *api = tcase_create("api");
	TCase *stress = tcase_create("stress");

	tcase_add_checked_fixture(api, kit_setup, kit_teardown);
	tcase_set_timeout(api, 60);
	tcase_add_test(api, test_ops_complete);
	tcase_add_test(api, test_enroll);
	tcase_add_test(api, test_special_use);
	tcase_add_test(api, test_quota);
	tcase_add_test(api, test_mailbox_script);
	tcase_add_test(api, test_mailbox_delete_rules);
	tcase_add_test(api, test_rename_messages);
	tcase_add_test(api, test_subscriptions);
	tcase_add_test(api, test_append_bytes);
	tcase_add_test(api, test_append_multi);
	tcase_add_test(api, test_store_script);
	tcase_add_test(api, test_store_many);
	tcase_add_test(api, test_expunge);
	tcase_add_test(api, test_copy_move);
	tcase_add_test(api, test_sync_since);
	tcase_add_test(api, test_claim_recent);
	tcase_add_test(api, test_status_counts);
	tcase_add_test(api, test_status_recent);
	tcase_add_test(api, test_nested_calls);
	/* ABI 1.1: expected to fail against a plugin built before it */
	tcase_add_test(api, test_ops_complete_1_1);
	tcase_add_test(api, test_acl);
	tcase_add_test(api, test_links);
	tcase_add_test(api, test_format_upgrade);
	tcase_add_test(api, test_append_once);
	tcase_add_test(api, test_open_inside_fetch);
	suite_add_tcase(s, api);
	tcase_add_checked_fixture(stress, kit_setup, kit_teardown);
	tcase_set_timeout(stress, 300);
	tcase_add_test(stress, test_concurrent_sessions);
	tcase_add_test(stress, test_two_instances);
	tcase_add_test(stress, test_many_sessions);
	tcase_add_test(stress, test_crash_safety);
	suite_add_tcase(s, stress);
	return s;
}

/* Writes the kit's configuration (filepool, bad-file directory, the
   plugin's section) to a temporary file and loads it. */
static int kit_config(const char *filepool, const char *badfile, const char *section,
		      char *path, const char **error_r)
{
	FILE *f;
	int fd = mkstemp(path);

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		*error_r = strerror(errno);
		return -1;
	}
	fprintf(f, "filepoolid: \"%s\"\nbadfileid: \"%s\"\n", filepool, badfile);
	if (section != NULL)
		fprintf(f, "plugins:\n  %s: %s\n", kit_name, section);
	fclose(f);
	return config_load(path, &kit_cfg, error_r);
}

int main(void)
{
	char tmp[] = "/tmp/vimap-kit-XXXXXX", cfg_path[] = "/tmp/vimap-kit-cfg-XXXXXX";
	char *pool = NULL, *bad;
	const char *filepool = getenv("VIMAP_KIT_FILEPOOL"), *error = NULL;
	SRunner *sr;
	int failed;

	kit_dir = getenv("VIMAP_KIT_PLUGIN_DIR") != NULL ? getenv("VIMAP_KIT_PLUGIN_DIR")
		: KIT_PLUGIN_DIR;
	kit_name = getenv("VIMAP_KIT_PLUGIN") != NULL ? getenv("VIMAP_KIT_PLUGIN") : "localfs";
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (filepool == NULL) {
		pool = malloc(strlen(tmp) + 8);
		sprintf(pool, "%s/pool", tmp);
		filepool = pool;
	}
	bad = malloc(strlen(tmp) + 8);
	sprintf(bad, "%s/bad", tmp);
	log_init("storage-kit", 0, VIMAP_LOG_WARNING);
	if (kit_config(filepool, bad, getenv("VIMAP_KIT_PLUGIN_CONFIG"), cfg_path, &error) < 0) {
		fprintf(stderr, "storage-kit: configuration: %s\n", error);
		return 1;
	}
	host_set_config(kit_cfg, "vimapd");
	printf("storage-kit: plugin %s from %s, filepool %s\n", kit_name, kit_dir, filepool);
	sr = srunner_create(kit_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	config_free(&kit_cfg);
	unlink(cfg_path);
	if (pool != NULL && failed == 0) {
		char *cmd = malloc(strlen(tmp) + 16);

		sprintf(cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "storage-kit: could not remove %s\n", tmp);
		free(cmd);
	}
	free(pool);
	free(bad);
	return failed == 0 ? 0 : 1;
}
