#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "config.h"
#include "error.h"
#include "passwd-file.h"
#include "strbuf.h"
#include "userdir.h"
#include "xalloc.h"

/* Builds the new file: every line as it was but `user`'s, which becomes
   "user:hash" (appended when there was none).  `hash` is everything after
   the user's colon: the crypt hash, then ':' and the SCRAM secret. */
static int passwd_file_rewrite(const char *path, const char *user, const char *hash,
			       struct strbuf *out, const char **error_r)
{
	char canon[USERDIR_MAX_USER + 1], *line = NULL;
	size_t cap = 0, ulen = strlen(user);
	FILE *f = fopen(path, "r");
	int replaced = 0;
	ssize_t n;

	if (f == NULL && errno != ENOENT)
		return error_set(error_r, "%s: cannot open: %s", path, strerror(errno));
	while (f != NULL && (n = getline(&line, &cap, f)) >= 0) {
		char *colon = strchr(line, ':');

		if (line[0] != '#' && colon != NULL) {
			*colon = '\0';
			if (userdir_canonical_user(line, canon) == 0 && strcmp(canon, user) == 0 &&
			    !replaced) {
				strbuf_appendf(out, "%s:%s\n", user, hash);
				replaced = 1;
				continue;
			}
			*colon = ':';
		}
		strbuf_append(out, line, (size_t)n);
		if (n > 0 && line[n - 1] != '\n')
			strbuf_appendc(out, '\n');
	}
	free(line);
	if (f != NULL)
		fclose(f);
	if (!replaced) {
		strbuf_append(out, user, ulen);
		strbuf_appendf(out, ":%s\n", hash);
	}
	return 0;
}

static int passwd_file_write(const char *path, const struct strbuf *data, const char **error_r)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	char *dircopy = xstrdup(path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), dfd, ret = 0;

	if (fd < 0 || write(fd, data->data, data->len) != (ssize_t)data->len || fsync(fd) < 0) {
		ret = error_set(error_r, "writing %s failed: %s", tmp, strerror(errno));
	} else if (rename(tmp, path) < 0) {
		ret = error_set(error_r, "rename(%s) failed: %s", path, strerror(errno));
	} else if ((dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		/* The rename itself must survive a crash too. */
		(void)fsync(dfd);
		close(dfd);
	}
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		(void)unlink(tmp);
	free(tmp);
	free(dircopy);
	return ret;
}

int passwd_file_set(const char *path, const char *user, const char *hash,
		    const char **error_r)
{
	struct strbuf data = STRBUF_INIT;
	int ret = passwd_file_rewrite(path, user, hash, &data, error_r);

	if (ret == 0)
		ret = passwd_file_write(path, &data, error_r);
	OPENSSL_cleanse(data.data, data.len);
	strbuf_free(&data);
	return ret;
}

/* Reads a password: twice with echo off at a terminal, else one line. */
static int passwd_read(char *buf, size_t size)
{
	struct termios old, quiet;
	char again[512];
	int tty = isatty(STDIN_FILENO);

	if (tty) {
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
		fprintf(stderr, "New password: ");
	}
	if (fgets(buf, (int)size, stdin) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (tty) {
		fprintf(stderr, "\nAgain: ");
		if (fgets(again, sizeof(again), stdin) == NULL)
			again[0] = '\0';
		again[strcspn(again, "\r\n")] = '\0';
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fprintf(stderr, "\n");
		if (strcmp(buf, again) != 0) {
			fprintf(stderr, "vimap: the passwords differ\n");
			return -1;
		}
		OPENSSL_cleanse(again, sizeof(again));
	}
	if (buf[0] == '\0') {
		fprintf(stderr, "vimap: empty password refused\n");
		return -1;
	}
	return 0;
}

static char *passwd_users_path(const char *config_path, const char *server_name)
{
	struct vimap_config *cfg;
	const char *error, *value;
	char *path, *found;

	if (config_find(SYSCONFDIR "/vimap", server_name, config_path, &path, &error) < 0 ||
	    config_load(path, &cfg, &error) < 0) {
		fprintf(stderr, "vimap: %s (or give the file with --file)\n", error);
		return NULL;
	}
	free(path);
	if (config_section_string(config_plugin_section(cfg, "cp"), "directory",
				  SYSCONFDIR "/vimap/users", &value, &error) < 0) {
		fprintf(stderr, "vimap: %s\n", error);
		config_free(&cfg);
		return NULL;
	}
	found = xstrdup(value);
	config_free(&cfg);
	return found;
}

int passwd_file_command(const char *config_path, const char *server_name,
			const char *users_file, int argc, char **argv)
{
	char user[USERDIR_MAX_USER + 1], password[512], hash[256], scram[256];
	char *path, *secrets;
	const char *error;
	int ret = 1;

	if (argc != 2 || userdir_canonical_user(argv[1], user) < 0) {
		fprintf(stderr, "usage: vimap passwd USER (1-64 of letters, digits, . _ - + @)\n");
		return 2;
	}
	path = users_file != NULL ? xstrdup(users_file) : passwd_users_path(config_path, server_name);
	if (path == NULL)
		return 1;
	/* Both forms: the yescrypt hash for LOGIN and PLAIN, the SCRAM-SHA-256
	   secret (RFC 5803) for AUTHENTICATE SCRAM-SHA-256.  Neither gives the
	   password back. */
	if (passwd_read(password, sizeof(password)) == 0) {
		if (userdir_hash_password(password, hash, sizeof(hash), &error) < 0 ||
		    userdir_scram_make(password, USERDIR_SCRAM_ITERATIONS, scram, sizeof(scram),
				       &error) < 0) {
			fprintf(stderr, "vimap: %s\n", error);
		} else {
			secrets = xasprintf("%s:%s", hash, scram);
			if (passwd_file_set(path, user, secrets, &error) < 0) {
				fprintf(stderr, "vimap: %s\n", error);
			} else {
				printf("password of %s set in %s (yescrypt and SCRAM-SHA-256)\n",
				       user, path);
				ret = 0;
			}
			OPENSSL_cleanse(secrets, strlen(secrets));
			free(secrets);
		}
	}
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(scram, sizeof(scram));
	free(path);
	return ret;
}
