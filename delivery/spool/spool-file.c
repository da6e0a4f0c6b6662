#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "error.h"
#include "spool-private.h"
#include "userid.h"
#include "xalloc.h"

#define SPOOL_DEST_MAX 300

enum spool_outcome {
	SPOOL_DONE,    /* the file has left .work/ (or vanished) */
	SPOOL_RETRY    /* it stays in .work/ for a later attempt */
};

static enum spool_outcome spool_retry(struct spool *s, struct spool_item *it,
				      const char *why)
{
	long long delay = s->retry_interval;
	unsigned i;

	for (i = 0; i < it->failures && delay < s->retry_max; i++)
		delay *= 2;
	if (delay > s->retry_max)
		delay = s->retry_max;
	it->failures++;
	it->delay = delay;
	s->host->counter_add(s->ctx, s->c_tempfail, 1);
	spool_log(s, VIMAP_LOG_WARNING, "%s: temporary failure, retry in %lld s "
		  "(attempt %u): %s", it->name, delay, it->failures, why);
	return SPOOL_RETRY;
}

static enum spool_outcome spool_bad(struct spool *s, struct spool_item *it,
				    const char *reason)
{
	char dest[SPOOL_DEST_MAX];
	const char *error;

	if (spool_move_bad(s, it->name, reason, dest, sizeof(dest), &error) < 0)
		return spool_retry(s, it, error_fmt("moving it to the bad-file directory "
						    "failed: %s (reason: %s)", error, reason));
	s->host->counter_add(s->ctx, s->c_bad, 1);
	spool_log(s, VIMAP_LOG_WARNING, "%s: bad file, moved to %s/%s: %s", it->name,
		  s->bad_dir, dest, reason);
	return SPOOL_DONE;
}

static enum spool_outcome spool_pass(struct spool *s, struct spool_item *it,
				     const char *user, const char *why)
{
	char dest[SPOOL_DEST_MAX];
	const char *error;

	if (s->pass_fd < 0)
		return spool_bad(s, it, error_fmt("%s, and no passthrough directory is "
						  "configured", why));
	if (spool_move_passthrough(s, it->name, user, dest, sizeof(dest), &error) < 0)
		return spool_retry(s, it, error_fmt("passing it through failed: %s", error));
	s->host->counter_add(s->ctx, s->c_passed, 1);
	spool_log(s, VIMAP_LOG_INFO, "%s: passed through to %s/%s/%s: %s", it->name,
		  s->passthrough, user, dest, why);
	return SPOOL_DONE;
}

/* 1 when `origin` is one of the MAILORIGINID ids (any case). */
static int spool_origin_ok(const struct spool *s, const char *origin)
{
	unsigned i;

	for (i = 0; i < s->origin_count; i++)
		if (strcasecmp(s->origins[i], origin) == 0)
			return 1;
	return 0;
}

static enum spool_outcome spool_delivered(struct spool *s, struct spool_item *it,
					  const char *user, uint64_t length)
{
	const char *error;

	/* Durable in the store: the file goes now.  A crash before this
	   unlink delivers the file again at the next start, and the store,
	   which recorded its delivery id, stores nothing the second time. */
	if (unlinkat(s->work_fd, it->name, 0) < 0 && errno != ENOENT) {
		spool_log(s, VIMAP_LOG_ERROR, "%s: delivered to %s but unlink(%s/%s) "
			  "failed: %s: remove it by hand or it is delivered again at "
			  "the next start", it->name, user, SPOOL_WORK_DIR, it->name,
			  strerror(errno));
	} else if (spool_fsync_dir(s->work_fd, SPOOL_WORK_DIR, &error) < 0) {
		spool_log(s, VIMAP_LOG_ERROR, "%s: %s", it->name, error);
	}
	s->host->counter_add(s->ctx, s->c_delivered, 1);
	spool_log(s, VIMAP_LOG_INFO, "%s: delivered to %s (%llu octets)", it->name,
		  user, (unsigned long long)length);
	return SPOOL_DONE;
}

/* The claimed file's identity as a delivery id: the same file after a
   restart (a rename into .work/ keeps inode and times) gives the same id,
   another file (even under a reused name) another one.  The store records
   it with the message, so a crash between its commit and our unlink never
   makes a second copy. */
static const char *spool_delivery_id(const struct spool *s, const struct spool_item *it,
				     char *buf, size_t size)
{
	struct stat sb;

	if (fstatat(s->work_fd, it->name, &sb, 0) < 0)
		return NULL;
	snprintf(buf, size, "spool:%llu:%llu:%lld.%09ld:%.120s",
		 (unsigned long long)sb.st_ino, (unsigned long long)sb.st_size,
		 (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, it->name);
	return buf;
}

static enum spool_outcome spool_deliver(struct spool *s, struct spool_item *it,
					struct spool_msg *m, const char *user)
{
	struct vimap_delivery d;
	const char *error = "unknown";
	enum vimap_deliver_result res;
	char id[256];

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.user = user;
	d.fd = m->out_fd;
	d.length = m->length;
	d.source = "spool";
	d.delivery_id = spool_delivery_id(s, it, id, sizeof(id));
	res = s->host->deliver(s->ctx, &d, &error);
	switch (res) {
	case VIMAP_DELIVER_OK:
		return spool_delivered(s, it, user, m->length);
	case VIMAP_DELIVER_NOUSER:
		return spool_pass(s, it, user, error_fmt("recipient %s is not enrolled",
							 user));
	case VIMAP_DELIVER_TEMPFAIL:
		return spool_retry(s, it, error_fmt("delivery to %s: %s", user, error));
	case VIMAP_DELIVER_OVERQUOTA:
		return spool_bad(s, it, error_fmt("delivery to %s failed: over quota: %s",
						  user, error));
	case VIMAP_DELIVER_TOOBIG:
		return spool_bad(s, it, error_fmt("delivery to %s failed: too big: %s",
						  user, error));
	case VIMAP_DELIVER_FAILED:
	default:
		break;
	}
	return spool_bad(s, it, error_fmt("delivery to %s failed: %s", user, error));
}

/* The decision for a file that was read. */
static enum spool_outcome spool_decide(struct spool *s, struct spool_item *it,
				       struct spool_msg *m)
{
	char user[USERID_MAX + 1];

	if (!m->have_origin)
		return spool_bad(s, it, "no origin: no INMFUID in INMR01 (or no X-Vimap-Origin)");
	if (!m->have_recipient)
		return spool_bad(s, it, "no recipient: no INMTUID in INMR01 (or no X-Vimap-Recipient)");
	if (!spool_origin_ok(s, m->origin))
		return spool_bad(s, it, error_fmt("origin '%s' is not a mail origin id "
						  "(mailoriginid: %s)", m->origin,
						  s->host->setting(s->ctx, "mailoriginid")));
	if (userid_canonical(m->recipient, strlen(m->recipient), user) < 0)
		return spool_bad(s, it, error_fmt("recipient '%s' is not a valid user id",
						  m->recipient));
	if (m->notification)
		return spool_pass(s, it, user, "an INMR07 notification, not mail");
	if (m->records == 0)
		return spool_bad(s, it, "the transmission holds no data record");
	return spool_deliver(s, it, m, user);
}

/* Reads exactly `size` bytes of fd into a new buffer.  Read, not mapped:
   a file cut short by a writer that still holds it would raise SIGBUS in
   a mapping and take the whole server down.  NULL with errno (EIO when
   the file shrank). */
static char *spool_read_all(int fd, size_t size)
{
	char *buf = xmalloc(size);
	size_t done = 0;

	while (done < size) {
		ssize_t n = pread(fd, buf + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			free(buf);
			return NULL;
		}
		done += (size_t)n;
	}
	return buf;
}

/* Reads the claimed file and decides. */
static enum spool_outcome spool_read_decide(struct spool *s, struct spool_item *it,
					    int fd, size_t size)
{
	struct spool_msg m;
	enum spool_outcome out;
	char *map;
	int ret;

	if (size == 0)
		return spool_bad(s, it, "the file is empty");
	if (size > SPOOL_MAX_FILE)
		return spool_bad(s, it, error_fmt("the file holds %zu bytes, more than the "
						  "spool reads (%u MB)", size,
						  SPOOL_MAX_FILE >> 20));
	if ((map = spool_read_all(fd, size)) == NULL)
		return errno == EIO ? spool_bad(s, it, "the file shrank while it was read")
			: spool_retry(s, it, error_fmt("read() failed: %s", strerror(errno)));
	memset(&m, 0, sizeof(m));
	m.s = s;
	m.out_fd = spool_tmpfile(s);
	if (m.out_fd < 0) {
		free(map);
		return spool_retry(s, it, error_fmt("creating a temporary file failed: %s",
						    strerror(errno)));
	}
	ret = spool_msg_read(&m, (const unsigned char *)map, size);
	free(map);
	if (ret < 0 && m.io_error)
		out = spool_retry(s, it, m.reason);
	else if (ret < 0)
		out = spool_bad(s, it, m.reason);
	else
		out = spool_decide(s, it, &m);
	strbuf_free(&m.out);
	close(m.out_fd);
	return out;
}

/* Moves the file into .work/: 1 claimed, 0 gone (or not a file), -1 try
   later. */
static int spool_claim(struct spool *s, struct spool_item *it)
{
	if (it->claimed)
		return 1;
	if (renameat2(s->dir_fd, it->name, s->work_fd, it->name, RENAME_NOREPLACE) == 0) {
		it->claimed = 1;
		return 1;
	}
	if (errno == ENOENT) {
		spool_log(s, VIMAP_LOG_DEBUG, "%s: gone before it was claimed", it->name);
		return 0;
	}
	spool_log(s, VIMAP_LOG_WARNING, "%s: rename(%s/%s) failed: %s", it->name,
		  SPOOL_WORK_DIR, it->name, errno == EEXIST ?
		  "a file of that name is still being read" : strerror(errno));
	return -1;
}

static enum spool_outcome spool_file_run(struct spool *s, struct spool_item *it)
{
	struct stat st;
	enum spool_outcome out;
	int fd, c;

	if ((c = spool_claim(s, it)) <= 0)
		return c == 0 ? SPOOL_DONE : SPOOL_RETRY;
	/* O_NONBLOCK: a FIFO dropped into the spool must not hang a reader
	   in open(); fstat below sends it to the bad files. */
	fd = openat(s->work_fd, it->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return SPOOL_DONE;
	if (fd < 0 && errno == ELOOP)
		return spool_bad(s, it, "a symbolic link, not a file");
	if (fd < 0)
		return spool_retry(s, it, error_fmt("open() failed: %s", strerror(errno)));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return spool_bad(s, it, "not a regular file");
	}
	spool_log(s, VIMAP_LOG_DEBUG, "%s: reading %llu bytes", it->name,
		  (unsigned long long)st.st_size);
	out = spool_read_decide(s, it, fd, (size_t)st.st_size);
	close(fd);
	return out;
}

void spool_file_process(struct spool *s, struct spool_item *item)
{
	item->delay = s->retry_interval;
	if (spool_file_run(s, item) == SPOOL_DONE)
		spool_queue_done(s, item);
	else
		spool_queue_retry(s, item, item->delay);
}
