#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "error.h"
#include "spool-private.h"
#include "xalloc.h"

#define SPOOL_MAX_SUFFIX 10000

int spool_fsync_dir(int fd, const char *what, const char **error_r)
{
	if (fsync(fd) < 0)
		return error_set(error_r, "fsync(%s) failed: %s", what, strerror(errno));
	return 0;
}

int spool_mkdirs(const char *path, const char **error_r)
{
	char *p = xstrdup(path), *slash;
	int ret = 0;

	for (slash = p + 1; ret == 0; slash++) {
		char c = *slash;

		if (c != '/' && c != '\0')
			continue;
		*slash = '\0';
		if (mkdir(p, 0750) < 0 && errno != EEXIST)
			ret = error_set(error_r, "mkdir(%s) failed: %s", p, strerror(errno));
		*slash = c;
		if (c == '\0')
			break;
	}
	free(p);
	return ret;
}

/* Writes `text` + LF to dir/name through a temporary name, durably.  0,
   -2 when dir/name exists (it is never replaced), -1 on other errors. */
static int spool_write_text(int dir_fd, const char *name, const char *text,
			    const char **error_r)
{
	static atomic_uint seq;
	char tmp[64];
	size_t len = strlen(text);
	int fd, ok;

	/* A short temporary name: NAME plus a prefix may pass NAME_MAX. */
	snprintf(tmp, sizeof(tmp), ".tmp-%ld-%u", (long)getpid(), atomic_fetch_add(&seq, 1));
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return error_set(error_r, "open(%s) failed: %s", tmp, strerror(errno));
	ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
		fsync(fd) == 0;
	if (!ok) {
		error_set(error_r, "write(%s) failed: %s", tmp, strerror(errno));
		close(fd);
		unlinkat(dir_fd, tmp, 0);
		return -1;
	}
	close(fd);
	/* Never over an existing file: it may be an earlier bad message. */
	if (renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) < 0) {
		int errnum = errno;

		unlinkat(dir_fd, tmp, 0);
		error_set(error_r, "rename(%s) failed: %s", name, strerror(errnum));
		return errnum == EEXIST ? -2 : -1;
	}
	return 0;
}

/* Copies .work/NAME to to_fd/dest (another file system), durably. */
static int spool_copy(struct spool *s, const char *name, int to_fd, const char *dest,
		      const char **error_r)
{
	char tmp[NAME_MAX + 16], buf[65536];
	ssize_t n;
	int in, out, ok = 1;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".tmp-%s", dest) >= sizeof(tmp))
		return error_set(error_r, "%s: name too long", dest);
	if ((in = openat(s->work_fd, name, O_RDONLY | O_CLOEXEC)) < 0)
		return error_set(error_r, "open(%s) failed: %s", name, strerror(errno));
	out = openat(to_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0) {
		close(in);
		return error_set(error_r, "open(%s) failed: %s", tmp, strerror(errno));
	}
	while (ok && (n = read(in, buf, sizeof(buf))) != 0)
		ok = n > 0 && write(out, buf, (size_t)n) == n;
	ok = ok && fsync(out) == 0;
	if (!ok)
		error_set(error_r, "copy(%s) failed: %s", name, strerror(errno));
	close(in);
	close(out);
	if (ok && renameat2(to_fd, tmp, to_fd, dest, RENAME_NOREPLACE) < 0) {
		ok = 0;
		error_set(error_r, "rename(%s) failed: %s", dest, strerror(errno));
	}
	if (!ok) {
		unlinkat(to_fd, tmp, 0);
		return -1;
	}
	if (unlinkat(s->work_fd, name, 0) < 0)
		return error_set(error_r, "unlink(%s) failed: %s", name, strerror(errno));
	return 0;
}

/* Moves .work/NAME to to_fd under NAME or NAME.n (the first free one),
   first writing NAME[.n].reason when `reason` is set, so a bad file is
   never there without its reason. */
static int spool_move(struct spool *s, const char *name, int to_fd, const char *reason,
		      char *dest, size_t dest_size, const char **error_r)
{
	char reason_name[NAME_MAX + 16];
	unsigned i;

	for (i = 0; i < SPOOL_MAX_SUFFIX; i++) {
		struct stat st;
		int ret;

		if (i == 0)
			snprintf(dest, dest_size, "%s", name);
		else
			snprintf(dest, dest_size, "%s.%u", name, i);
		if (fstatat(to_fd, dest, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if ((size_t)snprintf(reason_name, sizeof(reason_name), "%s.reason",
				     dest) >= sizeof(reason_name))
			return error_set(error_r, "%s: name too long", dest);
		/* Both names must be free: NAME.reason may itself be an
		   earlier bad file's name. */
		if (reason != NULL && fstatat(to_fd, reason_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (reason != NULL &&
		    (ret = spool_write_text(to_fd, reason_name, reason, error_r)) < 0) {
			if (ret == -2)
				continue;
			return -1;
		}
		ret = renameat2(s->work_fd, name, to_fd, dest, RENAME_NOREPLACE);
		if (ret < 0 && errno == EXDEV)
			ret = spool_copy(s, name, to_fd, dest, error_r) < 0 ? -2 : 0;
		if (ret == 0)
			break;
		if (ret == -1 && errno == EEXIST)
			continue;
		if (ret == -1)
			error_set(error_r, "rename(%s) failed: %s", name, strerror(errno));
		return -1;
	}
	if (i == SPOOL_MAX_SUFFIX)
		return error_set(error_r, "%s: %u names taken", name, SPOOL_MAX_SUFFIX);
	if (spool_fsync_dir(to_fd, dest, error_r) < 0 ||
	    spool_fsync_dir(s->work_fd, SPOOL_WORK_DIR, error_r) < 0)
		return -1;
	return 0;
}

int spool_move_bad(struct spool *s, const char *name, const char *reason,
		   char *dest_r, size_t dest_size, const char **error_r)
{
	return spool_move(s, name, s->bad_fd, reason, dest_r, dest_size, error_r);
}

int spool_move_passthrough(struct spool *s, const char *name, const char *user,
			   char *dest_r, size_t dest_size, const char **error_r)
{
	int fd, ret;

	if (s->pass_fd < 0)
		return error_set(error_r, "no passthrough directory is configured");
	if (mkdirat(s->pass_fd, user, 0750) < 0 && errno != EEXIST)
		return error_set(error_r, "mkdir(%s/%s) failed: %s", s->passthrough, user,
				 strerror(errno));
	fd = openat(s->pass_fd, user, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_set(error_r, "open(%s/%s) failed: %s", s->passthrough, user,
				 strerror(errno));
	ret = spool_move(s, name, fd, NULL, dest_r, dest_size, error_r);
	if (ret == 0)
		ret = spool_fsync_dir(s->pass_fd, s->passthrough, error_r);
	close(fd);
	return ret;
}
