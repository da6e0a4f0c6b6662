/* localfs: message files.  A message is written to tmp/ID.PID, made durable
 * (fdatasync), renamed to msg/NN/ID, and its directory synced before the
 * index row that names it is committed: a crash can leave a file no row
 * names (tmp/ files are removed at user_open; an unnamed file in msg/ is
 * ignored: its id is never given again, so it can never be taken for a
 * message), never a row without its file. */
#include "autoconfig.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fd-util.h"
#include "localfs-private.h"
#include "xalloc.h"

/* What open_message hands out in vimap_message_data.priv. */
struct localfs_map {
	void *addr;
	size_t len;
	int heap;            /* addr is a heap copy, not a mapping */
};

/* Messages up to this size are read into memory rather than mapped: for a
   small file mmap + page faults + munmap (a TLB shoot-down on every thread)
   cost several times one read(), which matters when SEARCH BODY opens
   100,000 messages. */
#define LOCALFS_READ_MAX (256 * 1024)

void localfs_file_path(char *buf, size_t size, uint64_t id)
{
	snprintf(buf, size, "msg/%02x/%" PRIu64, (unsigned)(id & 0xff), id);
}

static int localfs_file_errno(struct vimap_storage_error *err, const char *call,
			      const char *path, int errnum)
{
	return localfs_fail(err, localfs_errno_code(errnum), "%s(%s) failed: %s", call, path,
			    strerror(errnum));
}

/* Renames tmp to msg/NN/ID, making msg/NN again when it went missing. */
static int localfs_file_rename(int dirfd, const char *tmp, uint64_t id,
			       struct vimap_storage_error *err)
{
	char path[64], dir[16];

	localfs_file_path(path, sizeof(path), id);
	if (renameat(dirfd, tmp, dirfd, path) == 0)
		return 0;
	if (errno == ENOENT) {
		snprintf(dir, sizeof(dir), "msg/%02x", (unsigned)(id & 0xff));
		if ((mkdirat(dirfd, dir, 0700) == 0 || errno == EEXIST) &&
		    renameat(dirfd, tmp, dirfd, path) == 0)
			return 0;
	}
	localfs_file_errno(err, "rename", path, errno);
	unlinkat(dirfd, tmp, 0);
	return -1;
}

int localfs_file_store(int dirfd, uint64_t id, const void *data, size_t size,
		       int fsync_on, struct vimap_storage_error *err)
{
	char tmp[64];
	int fd, errnum;

	snprintf(tmp, sizeof(tmp), "tmp/%" PRIu64 ".%ld", id, (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return localfs_file_errno(err, "open", tmp, errno);
	if (fd_write_all(fd, data, size) < 0) {
		errnum = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return localfs_file_errno(err, "write", tmp, errnum);
	}
	if (fsync_on && fdatasync(fd) < 0) {
		errnum = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return localfs_file_errno(err, "fdatasync", tmp, errnum);
	}
	if (close(fd) < 0) {
		errnum = errno;
		unlinkat(dirfd, tmp, 0);
		return localfs_file_errno(err, "close", tmp, errnum);
	}
	return localfs_file_rename(dirfd, tmp, id, err);
}

/* Copies file `from` to `to` when a hard link is not possible. */
static int localfs_file_copy(int dirfd, uint64_t from, uint64_t to, int fsync_on,
			     struct vimap_storage_error *err)
{
	struct vimap_message_data data;
	struct stat sb;
	char path[64];
	int fd, ret;

	localfs_file_path(path, sizeof(path), from);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return localfs_file_errno(err, "open", path, errno);
	ret = fstat(fd, &sb);
	close(fd);
	if (ret < 0)
		return localfs_file_errno(err, "fstat", path, errno);
	if (localfs_file_map(dirfd, from, (uint64_t)sb.st_size, &data, err) < 0)
		return -1;
	ret = localfs_file_store(dirfd, to, data.data, data.size, fsync_on, err);
	localfs_file_unmap(&data);
	return ret;
}

int localfs_file_link(int dirfd, uint64_t from, uint64_t to, int fsync_on,
		      struct vimap_storage_error *err)
{
	char src[64], dst[64];

	localfs_file_path(src, sizeof(src), from);
	localfs_file_path(dst, sizeof(dst), to);
	if (linkat(dirfd, src, dirfd, dst, 0) == 0)
		return 0;
	if (errno == EEXIST) {
		/* An orphan of a crash (ids are never given twice). */
		unlinkat(dirfd, dst, 0);
		if (linkat(dirfd, src, dirfd, dst, 0) == 0)
			return 0;
	}
	if (errno == EMLINK || errno == EPERM || errno == EXDEV || errno == ENOTSUP ||
	    errno == ENOENT)
		return errno == ENOENT && faccessat(dirfd, src, F_OK, 0) < 0
			? localfs_file_errno(err, "link", src, ENOENT)
			: localfs_file_copy(dirfd, from, to, fsync_on, err);
	return localfs_file_errno(err, "link", dst, errno);
}

int localfs_file_sync_dirs(int dirfd, const uint64_t *ids, unsigned count,
			   int fsync_on, struct vimap_storage_error *err)
{
	unsigned char seen[256] = { 0 };
	char dir[16];
	unsigned i;

	if (!fsync_on)
		return 0;
	for (i = 0; i < count; i++) {
		unsigned nn = (unsigned)(ids[i] & 0xff);
		int fd;

		if (seen[nn])
			continue;
		seen[nn] = 1;
		snprintf(dir, sizeof(dir), "msg/%02x", nn);
		fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return localfs_file_errno(err, "open", dir, errno);
		if (fsync(fd) < 0) {
			int errnum = errno;

			close(fd);
			return localfs_file_errno(err, "fsync", dir, errnum);
		}
		close(fd);
	}
	return 0;
}

void localfs_file_unlink(struct localfs_state *st, int dirfd,
			 const uint64_t *ids, unsigned count)
{
	char path[64];
	unsigned i;

	for (i = 0; i < count; i++) {
		localfs_file_path(path, sizeof(path), ids[i]);
		if (unlinkat(dirfd, path, 0) < 0 && errno != ENOENT)
			localfs_log(st, VIMAP_LOG_WARNING, "unlink(%s) failed: %s", path,
				    strerror(errno));
	}
}

/* Reads exactly `size` bytes of fd into a new buffer (*buf_r, freed by the
   caller).  0, or -1 with errno (EIO for a file shorter than `size`). */
static int localfs_file_read_all(int fd, uint64_t size, void **buf_r)
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
			return -1;
		}
		done += (size_t)n;
	}
	*buf_r = buf;
	return 0;
}

int localfs_file_map(int dirfd, uint64_t id, uint64_t size,
		     struct vimap_message_data *out, struct vimap_storage_error *err)
{
	struct localfs_map *map;
	struct stat sb;
	char path[64];
	void *addr;
	int fd;

	localfs_file_path(path, sizeof(path), id);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return localfs_fail(err, errno == ENOENT ? VIMAP_STORAGE_ERR_INTERNAL
				    : localfs_errno_code(errno), "open(%s) failed: %s", path,
				    strerror(errno));
	if (fstat(fd, &sb) < 0) {
		int errnum = errno;

		close(fd);
		return localfs_file_errno(err, "fstat", path, errnum);
	}
	if ((uint64_t)sb.st_size != size) {
		close(fd);
		return localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
				    "open_message(%s) failed: the file holds %lld octets, "
				    "the index says %" PRIu64, path, (long long)sb.st_size, size);
	}
	if (size > 0 && size <= LOCALFS_READ_MAX) {
		if (localfs_file_read_all(fd, size, &addr) < 0) {
			int errnum = errno;

			close(fd);
			return localfs_file_errno(err, "read", path, errnum);
		}
	} else {
		addr = size == 0 ? NULL : mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (addr == MAP_FAILED) {
			int errnum = errno;

			close(fd);
			return localfs_file_errno(err, "mmap", path, errnum);
		}
	}
	close(fd);
	map = xmalloc(sizeof(*map));
	map->addr = addr;
	map->len = size;
	map->heap = size > 0 && size <= LOCALFS_READ_MAX;
	out->data = addr != NULL ? addr : "";
	out->size = size;
	out->priv = map;
	return 0;
}

void localfs_file_unmap(struct vimap_message_data *data)
{
	struct localfs_map *map = data->priv;

	if (map != NULL) {
		if (map->heap)
			free(map->addr);
		else if (map->addr != NULL)
			munmap(map->addr, map->len);
		free(map);
	}
	data->priv = NULL;
	data->data = NULL;
	data->size = 0;
}

/* 1 when tmp/ file `name` may go: not ID.PID, or PID is gone.  A file of
   this process may belong to an append running on another thread (a crash
   leaves files of a dead process only). */
static int localfs_file_stale(const char *name)
{
	const char *dot = strchr(name, '.');
	char *end;
	long pid;

	if (dot == NULL)
		return 1;
	pid = strtol(dot + 1, &end, 10);
	if (*end != '\0' || pid <= 0)
		return 1;
	if (pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

void localfs_file_clean_tmp(struct localfs_state *st, int dirfd)
{
	struct dirent *de;
	DIR *dir;
	int fd;

	fd = openat(dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		localfs_log(st, VIMAP_LOG_WARNING, "opendir(tmp) failed: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || !localfs_file_stale(de->d_name))
			continue;
		if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT)
			localfs_log(st, VIMAP_LOG_WARNING, "unlink(tmp/%s) failed: %s",
				    de->d_name, strerror(errno));
	}
	closedir(dir);
}

int localfs_file_sync_dir(const char *path, int fsync_on, struct vimap_storage_error *err)
{
	int fd, errnum;

	if (!fsync_on)
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return localfs_file_errno(err, "open", path, errno);
	if (fsync(fd) < 0) {
		errnum = errno;
		close(fd);
		return localfs_file_errno(err, "fsync", path, errnum);
	}
	close(fd);
	return 0;
}

static __thread int localfs_file_rm_errno;
static __thread char localfs_file_rm_path[512];

static int localfs_file_rm_one(const char *path, const struct stat *sb, int type,
			       struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT && localfs_file_rm_errno == 0) {
		localfs_file_rm_errno = errno;
		snprintf(localfs_file_rm_path, sizeof(localfs_file_rm_path), "%s", path);
	}
	return 0;
}

int localfs_file_remove_tree(const char *path, struct vimap_storage_error *err)
{
	localfs_file_rm_errno = 0;
	if (nftw(path, localfs_file_rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return localfs_file_errno(err, "nftw", path, errno);
	if (localfs_file_rm_errno != 0)
		return localfs_file_errno(err, "remove", localfs_file_rm_path,
					  localfs_file_rm_errno);
	return 0;
}

int localfs_file_make_tree(const char *path, struct vimap_storage_error *err)
{
	char *sub;
	unsigned i;
	int ret = 0;

	if (mkdir(path, 0700) < 0)
		return localfs_file_errno(err, "mkdir", path, errno);
	for (i = 0; i < 258 && ret == 0; i++) {
		if (i == 0)
			sub = xasprintf("%s/tmp", path);
		else if (i == 1)
			sub = xasprintf("%s/msg", path);
		else
			sub = xasprintf("%s/msg/%02x", path, i - 2);
		if (mkdir(sub, 0700) < 0)
			ret = localfs_file_errno(err, "mkdir", sub, errno);
		free(sub);
	}
	return ret;
}
