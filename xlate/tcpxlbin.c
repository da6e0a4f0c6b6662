/* The xlate plugin `tcpxlbin`: VM TCP/IP translate table files.
 *
 * Table NAME is the file NAME.tcpxlbin (or NAME.TCPXLBIN, as the files keep
 * their VM names when copied over) in the configured `directory`.  The
 * layout (../shared/specs/translate-tables.md): fixed 256-byte records;
 * record 1 a comment starting with '*' (EBCDIC 0x5C or ASCII 0x2A), record
 * 2 ASCII -> EBCDIC, record 3 EBCDIC -> ASCII; further records (DBCS
 * tables) are ignored.  A directory or file that is not there means "no
 * such table" (0); a file that is there but malformed is an error (-1)
 * naming the file and what is wrong, which stops start-up.
 *
 * Configuration (`plugins: tcpxlbin:`):
 *   directory: where the table files are (default SYSCONFDIR/vimap/xlate) */
#include "autoconfig.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vimap/xlate.h>
#include "error.h"
#include "xalloc.h"

#define TCPXLBIN_RECORD 256
#define TCPXLBIN_NAME_MAX 64

struct tcpxlbin_state {
	char *directory;
};

static const char *const tcpxlbin_keys[] = { "directory", NULL };

static int tcpxlbin_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
			 void **state_r, const char **error_r)
{
	struct tcpxlbin_state *st;
	const char *dir;

	if (host->config_check_keys(ctx, tcpxlbin_keys, error_r) < 0 ||
	    host->config_string(ctx, "directory", SYSCONFDIR "/vimap/xlate", &dir,
				error_r) < 0)
		return -1;
	st = xcalloc(1, sizeof(*st));
	st->directory = xstrdup(dir);
	*state_r = st;
	return 0;
}

static void tcpxlbin_deinit(void *state)
{
	struct tcpxlbin_state *st = state;

	free(st->directory);
	free(st);
}

/* 1 when `name` can be a table file name: 1..64 bytes of letters, digits,
   '_', '-', '.', '$', '#', '@' and not starting with '.'.  Anything else
   (a '/', "..") could leave the directory, so it is no table of ours. */
static int tcpxlbin_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > TCPXLBIN_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && strchr("_-.$#@", c) == NULL)
			return 0;
	}
	return 1;
}

/* Opens the first of DIR/name.tcpxlbin, DIR/lower.tcpxlbin,
   DIR/UPPER.TCPXLBIN that exists.  Returns the descriptor with the path in
   path (PATH_MAX bytes), -2 when none exists, or -1 with an error. */
static int tcpxlbin_open(const char *dir, const char *name, char *path,
			 const char **error_r)
{
	char lower[TCPXLBIN_NAME_MAX + 1], upper[TCPXLBIN_NAME_MAX + 1];
	const char *stem[3] = { name, lower, upper };
	const char *ext[3] = { "tcpxlbin", "tcpxlbin", "TCPXLBIN" };
	size_t i, len = strlen(name);
	int fd;

	for (i = 0; i <= len; i++) {
		lower[i] = (char)tolower((unsigned char)name[i]);
		upper[i] = (char)toupper((unsigned char)name[i]);
	}
	for (i = 0; i < 3; i++) {
		snprintf(path, PATH_MAX, "%s/%s.%s", dir, stem[i], ext[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT && errno != ENOTDIR)
			return error_set(error_r, "open(%s) failed: %s", path, strerror(errno));
	}
	return -2;
}

/* Reads exactly `len` bytes at offset 0.  0 or -1 with an error. */
static int tcpxlbin_read(int fd, const char *path, unsigned char *buf, size_t len,
			 const char **error_r)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set(error_r, "read(%s) failed: %s", path, strerror(errno));
		if (n == 0)
			return error_set(error_r, "%s: file shrank while being read", path);
		done += (size_t)n;
	}
	return 0;
}

/* Checks the file's shape and reads its first three records into `recs`. */
static int tcpxlbin_parse(int fd, const char *path, unsigned char recs[3 * TCPXLBIN_RECORD],
			  const char **error_r)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return error_set(error_r, "fstat(%s) failed: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return error_set(error_r, "%s: not a regular file", path);
	if (st.st_size % TCPXLBIN_RECORD != 0)
		return error_set(error_r, "%s: size %lld is not a multiple of the %d-byte "
				 "record length", path, (long long)st.st_size, TCPXLBIN_RECORD);
	if (st.st_size < 3 * TCPXLBIN_RECORD)
		return error_set(error_r, "%s: %lld record(s), a table needs at least 3 "
				 "(header, ASCII->EBCDIC, EBCDIC->ASCII)", path,
				 (long long)(st.st_size / TCPXLBIN_RECORD));
	if (tcpxlbin_read(fd, path, recs, 3 * TCPXLBIN_RECORD, error_r) < 0)
		return -1;
	if (recs[0] != 0x5C && recs[0] != 0x2A)
		return error_set(error_r, "%s: record 1 is not a comment record (it starts "
				 "with byte 0x%02X, not '*' as 0x5C or 0x2A)", path, recs[0]);
	return 0;
}

static int tcpxlbin_load(void *state, const char *name, unsigned char to_ascii[256],
			 unsigned char to_ebcdic[256], const char **error_r)
{
	struct tcpxlbin_state *st = state;
	unsigned char recs[3 * TCPXLBIN_RECORD];
	char path[PATH_MAX];
	int fd, ret;

	if (!tcpxlbin_name_ok(name))
		return 0;
	fd = tcpxlbin_open(st->directory, name, path, error_r);
	if (fd == -2)
		return 0;
	if (fd < 0)
		return -1;
	ret = tcpxlbin_parse(fd, path, recs, error_r);
	close(fd);
	if (ret < 0)
		return -1;
	memcpy(to_ebcdic, recs + TCPXLBIN_RECORD, 256);
	memcpy(to_ascii, recs + 2 * TCPXLBIN_RECORD, 256);
	return 1;
}

static const struct vimap_xlate_ops tcpxlbin_ops = {
	.size = sizeof(struct vimap_xlate_ops),
	.init = tcpxlbin_init,
	.deinit = tcpxlbin_deinit,
	.load = tcpxlbin_load,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_XLATE, "tcpxlbin", PACKAGE_VERSION, &tcpxlbin_ops);
