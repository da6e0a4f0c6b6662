#include "autoconfig.h"
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <time.h>
#include <vimap/storage.h>
#include "config.h"
#include "deliver.h"
#include "error.h"
#include "loader.h"
#include "log.h"
#include "mail/message-cache.h"
#include "mailbox-notify.h"
#include "server.h"
#include "strbuf.h"
#include "userid.h"

static const struct vimap_storage_ops *deliver_storage(void **state_r)
{
	struct vimap_plugin_ctx *p = server.storage;

	if (p == NULL || !p->initialized)
		return NULL;
	*state_r = p->state;
	return p->desc->ops;
}

int deliver_user_enrolled(const char *user, const char **error_r)
{
	char id[USERID_MAX + 1];
	struct vimap_storage_error err;
	const struct vimap_storage_ops *ops;
	void *state;
	int ret;

	if (userid_canonical(user, strlen(user), id) < 0)
		return 0;
	if ((ops = deliver_storage(&state)) == NULL)
		return error_set(error_r, "the store is not open");
	ret = ops->is_enrolled(state, id, &err);
	if (ret < 0)
		return error_set(error_r, "is_enrolled(%s) failed: %s", id, err.text);
	return ret;
}

static enum vimap_deliver_result deliver_code(const struct vimap_storage_error *err)
{
	switch (err->code) {
	case VIMAP_STORAGE_ERR_NONEXISTENT:
		return VIMAP_DELIVER_NOUSER;
	case VIMAP_STORAGE_ERR_OVERQUOTA:
		return VIMAP_DELIVER_OVERQUOTA;
	case VIMAP_STORAGE_ERR_UNAVAILABLE:
	case VIMAP_STORAGE_ERR_INUSE:
	case VIMAP_STORAGE_ERR_INTERNAL:
		/* A store that is down or broken must not bounce mail: the
		   sender keeps it and tries again. */
		return VIMAP_DELIVER_TEMPFAIL;
	default:
		return VIMAP_DELIVER_FAILED;
	}
}

/* The storage plugin's append_once, when it has one. */
static int deliver_has_append_once(const struct vimap_storage_ops *ops)
{
	return ops->size >= offsetof(struct vimap_storage_ops, append_once) +
		sizeof(ops->append_once) && ops->append_once != NULL;
}

/* Appends one message; with a delivery id, at most once per id. */
static int deliver_store(const struct vimap_storage_ops *ops, void *user,
			 const char *mailbox, const struct vimap_append *msg,
			 const char *delivery_id, int *duplicate_r,
			 struct vimap_storage_error *err)
{
	uint32_t uidvalidity, uid;

	*duplicate_r = 0;
	if (delivery_id != NULL && deliver_has_append_once(ops))
		return ops->append_once(user, mailbox, msg, delivery_id, &uidvalidity, &uid,
					duplicate_r, err);
	return ops->append(user, mailbox, msg, 1, &uidvalidity, &uid, err);
}

/* Appends data[0..len) with its parse blob to `mailbox` of `id`. */
static enum vimap_deliver_result deliver_append(const char *id, const char *mailbox,
						const char *data, size_t len, int64_t date,
						const char *delivery_id, const char **error_r)
{
	struct strbuf blob = STRBUF_INIT;
	struct vimap_storage_error err;
	struct vimap_append msg;
	const struct vimap_storage_ops *ops;
	void *state, *user = NULL;
	enum vimap_deliver_result res = VIMAP_DELIVER_OK;
	int duplicate = 0;
	struct tm tm;
	time_t t;

	if ((ops = deliver_storage(&state)) == NULL) {
		*error_r = "the store is not open";
		return VIMAP_DELIVER_TEMPFAIL;
	}
	if (message_cache_build(data, len, &blob, error_r) < 0)
		return VIMAP_DELIVER_FAILED;
	t = date != 0 ? (time_t)date : time(NULL);
	localtime_r(&t, &tm);
	memset(&msg, 0, sizeof(msg));
	msg.data = data;
	msg.size = len;
	msg.keywords = "";
	msg.internal_date = (int64_t)t;
	msg.tz_offset = (int32_t)(tm.tm_gmtoff / 60);
	msg.cache = blob.data;
	msg.cache_size = blob.len;
	if (ops->user_open(state, id, &user, &err) < 0 ||
	    deliver_store(ops, user, mailbox, &msg, delivery_id, &duplicate, &err) < 0) {
		res = deliver_code(&err);
		error_set(error_r, "%s", err.text);
	}
	if (user != NULL)
		ops->user_close(user);
	strbuf_free(&blob);
	if (duplicate)
		log_info("deliver", "%s: delivery %s was made before: not stored again", id,
			 delivery_id);
	else if (res == VIMAP_DELIVER_OK)
		notify_changed(id, mailbox, NULL);
	return res;
}

/* The descriptor must be a regular file holding at least `length` bytes:
   touching a mapped page past its end would kill the whole server with
   SIGBUS.  (The source must not change the file during the call.) */
static int deliver_check_file(const struct vimap_delivery *msg, const char **error_r)
{
	struct stat sb;

	if (fstat(msg->fd, &sb) < 0)
		return error_set(error_r, "fstat() of the message failed: %s", strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return error_set(error_r, "the message is not in a regular file");
	if ((uint64_t)sb.st_size < msg->length)
		return error_set(error_r, "the file holds %llu octets, not the %llu announced",
				 (unsigned long long)sb.st_size,
				 (unsigned long long)msg->length);
	return 0;
}

/* The delivery id, when the source's struct has one (ABI 1.1). */
static const char *deliver_id_of(const struct vimap_delivery *msg)
{
	if (msg->size < offsetof(struct vimap_delivery, delivery_id) + sizeof(msg->delivery_id))
		return NULL;
	return msg->delivery_id;
}

enum vimap_deliver_result deliver_message(const struct vimap_delivery *msg,
					  const char **error_r)
{
	char id[USERID_MAX + 1];
	const char *mailbox = "INBOX";
	const char *source = msg->source != NULL ? msg->source : "delivery";
	enum vimap_deliver_result res;
	void *map = NULL;

	/* delivery_id is the one member appended since the struct began. */
	if (msg->size < offsetof(struct vimap_delivery, delivery_id)) {
		*error_r = "struct vimap_delivery is too small";
		return VIMAP_DELIVER_FAILED;
	}
	if (deliver_id_of(msg) != NULL && strlen(deliver_id_of(msg)) > 255) {
		*error_r = "delivery_id is longer than 255 bytes";
		return VIMAP_DELIVER_FAILED;
	}
	/* Delivery goes to INBOX: a source has no business naming folders the
	   kernel would have to check (storage.h promises checked names). */
	if (msg->mailbox != NULL && strcasecmp(msg->mailbox, "INBOX") != 0) {
		*error_r = "delivery is to INBOX only";
		return VIMAP_DELIVER_FAILED;
	}
	if (userid_canonical(msg->user, strlen(msg->user), id) < 0) {
		*error_r = "no such user id";
		return VIMAP_DELIVER_NOUSER;
	}
	if (msg->length > server.config->max_literal) {
		error_set(error_r, "%llu octets is more than max_literal (%llu)",
			  (unsigned long long)msg->length,
			  (unsigned long long)server.config->max_literal);
		return VIMAP_DELIVER_TOOBIG;
	}
	if (deliver_check_file(msg, error_r) < 0)
		return VIMAP_DELIVER_FAILED;
	if (msg->length > 0) {
		/* Mapped, not read: a large message costs page cache, not heap. */
		map = mmap(NULL, msg->length, PROT_READ, MAP_PRIVATE, msg->fd, 0);
		if (map == MAP_FAILED) {
			error_set(error_r, "mmap() failed: %s", strerror(errno));
			return VIMAP_DELIVER_TEMPFAIL;
		}
	}
	res = deliver_append(id, mailbox, map != NULL ? map : "", msg->length,
			     msg->internal_date, deliver_id_of(msg), error_r);
	if (map != NULL)
		munmap(map, msg->length);
	if (res == VIMAP_DELIVER_OK)
		log_debug("deliver", "%s: %llu octets to %s/%s", source,
			  (unsigned long long)msg->length, id, mailbox);
	return res;
}
