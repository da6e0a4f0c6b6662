/* localfs: the store's format and its upgrade (the seed's IMAP5TO6).
 *
 * The filepool directory holds a file `format` with the store's format
 * number; every user index carries the same number in meta.format_version.
 * A store made before the file existed (format 1) has users but no file.
 * The upgrade converts each user index in one SQLite transaction (so an
 * interruption leaves every index either old or new, and a rerun finishes
 * the rest), then writes the file last, atomically: until the file says 2
 * vimapd refuses the store. */
#include "autoconfig.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "localfs-private.h"
#include "userid.h"
#include "xalloc.h"

#define LOCALFS_UPGRADE_HINT "run 'vimap upgrade-store' with vimapd stopped"

/* The number in root/format: 1 and the number, 0 when there is no file,
   -1 on a read error or a file that holds no number. */
static int localfs_format_read(struct localfs_state *st, long *format_r,
			       struct vimap_storage_error *err)
{
	char *path = xasprintf("%s/format", st->root);
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int errnum = errno;

		free(path);
		if (errnum == ENOENT)
			return 0;
		return localfs_fail(err, localfs_errno_code(errnum), "open(%s/format) failed: %s",
				    st->root, strerror(errnum));
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	free(path);
	buf[n > 0 ? n : 0] = '\0';
	if (n <= 0 || (*format_r = strtol(buf, NULL, 10)) <= 0)
		return localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
				    "%s/format holds no format number", st->root);
	return 1;
}

static int localfs_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

/* Writes root/format = LOCALFS_FORMAT_VERSION: temp file, fsync, rename,
   fsync of the directory. */
static int localfs_format_write(struct localfs_state *st, struct vimap_storage_error *err)
{
	char *tmp = xasprintf("%s/format.tmp", st->root);
	char *path = xasprintf("%s/format", st->root);
	char text[16];
	int fd, len, ret = -1;

	len = snprintf(text, sizeof(text), "%d\n", LOCALFS_FORMAT_VERSION);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd >= 0 && write(fd, text, (size_t)len) == len && fsync(fd) == 0 &&
	    close(fd) == 0) {
		fd = -1;
		if (rename(tmp, path) == 0 && localfs_fsync_dir(st->root) == 0)
			ret = 0;
	}
	if (ret < 0)
		localfs_fail(err, localfs_errno_code(errno), "writing %s failed: %s", path,
			     strerror(errno));
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(path);
	return ret;
}

/* 1 when `name` in users/ is a user's directory: a valid user id (which
   may start with '.'), not "." or "..", not a ~enrol./~trash. leftover. */
static int localfs_format_is_user(const char *name)
{
	char id[USERID_MAX + 1];

	return name[0] != '~' && userid_canonical(name, strlen(name), id) == 0 &&
	       strcmp(id, name) == 0;
}

/* 1 when the users directory holds any user, 0 when none, -1 on error. */
static int localfs_format_has_users(struct localfs_state *st, struct vimap_storage_error *err)
{
	DIR *dir = opendir(st->users_dir);
	struct dirent *de;
	int found = 0;

	if (dir == NULL)
		return localfs_fail(err, localfs_errno_code(errno), "opendir(%s) failed: %s",
				    st->users_dir, strerror(errno));
	while (!found && (de = readdir(dir)) != NULL)
		found = localfs_format_is_user(de->d_name);
	closedir(dir);
	return found;
}

int localfs_check_format(void *state, struct vimap_storage_error *err)
{
	struct localfs_state *st = state;
	long format = 0;
	int ret = localfs_format_read(st, &format, err);

	if (ret < 0)
		return -1;
	if (ret == 0) {
		if ((ret = localfs_format_has_users(st, err)) < 0)
			return -1;
		if (ret == 0)   /* a new, empty store: this build's format */
			return localfs_format_write(st, err);
		format = 1;     /* made before the format file existed */
	}
	if (format < LOCALFS_FORMAT_VERSION)
		return localfs_fail(err, VIMAP_STORAGE_ERR_CANNOT,
				    "store %s is in format %ld, older than format %d: "
				    LOCALFS_UPGRADE_HINT, st->root, format,
				    LOCALFS_FORMAT_VERSION);
	if (format > LOCALFS_FORMAT_VERSION)
		return localfs_fail(err, VIMAP_STORAGE_ERR_CANNOT,
				    "store %s is in format %ld, newer than this vimap's "
				    "format %d: run a newer vimap", st->root, format,
				    LOCALFS_FORMAT_VERSION);
	return 0;
}

/* Brings one user's index to format 2 in one transaction. */
static int localfs_upgrade_user(struct localfs_state *st, const char *user,
				struct vimap_storage_error *err)
{
	struct localfs_db db;
	char *path = xasprintf("%s/%s/index.db", st->users_dir, user);
	int ret;

	memset(&db, 0, sizeof(db));
	ret = localfs_db_open(&db, path, 0, st->fsync, NULL, err);
	if (ret == 0)
		ret = localfs_db_upgrade(&db, path, err);
	localfs_db_close(&db);
	free(path);
	return ret;
}

int localfs_upgrade(void *state, vimap_progress_cb *progress, void *ctx,
		    struct vimap_storage_error *err)
{
	struct localfs_state *st = state;
	struct dirent *de;
	char **users = NULL;
	size_t count = 0, alloc = 0, i;
	long format = 0;
	DIR *dir;
	int ret = localfs_format_read(st, &format, err);

	if (ret < 0)
		return -1;
	if (ret > 0 && format > LOCALFS_FORMAT_VERSION)
		return localfs_check_format(st, err);
	if ((dir = opendir(st->users_dir)) == NULL)
		return localfs_fail(err, localfs_errno_code(errno), "opendir(%s) failed: %s",
				    st->users_dir, strerror(errno));
	while ((de = readdir(dir)) != NULL) {
		if (!localfs_format_is_user(de->d_name)) {
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
			    de->d_name[0] != '~')
				localfs_log(st, VIMAP_LOG_WARNING, "upgrade: %s/%s is no user's "
					    "directory: left alone", st->users_dir, de->d_name);
			continue;
		}
		if (count == alloc)
			users = xrealloc(users, (alloc = alloc * 2 + 16) * sizeof(*users));
		users[count++] = xstrdup(de->d_name);
	}
	closedir(dir);
	ret = 0;
	for (i = 0; i < count && ret == 0; i++) {
		ret = localfs_upgrade_user(st, users[i], err);
		if (progress != NULL)
			progress(ctx, i + 1, count);
	}
	for (i = 0; i < count; i++)
		free(users[i]);
	free(users);
	if (ret == 0)
		ret = localfs_format_write(st, err);
	return ret;
}
