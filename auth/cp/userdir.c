#include "autoconfig.h"
#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "userdir.h"
#include "userid.h"
#include "xalloc.h"

#define USERDIR_PLAIN "{PLAIN}"

int userdir_canonical_user(const char *user, char out[USERDIR_MAX_USER + 1])
{
	return userid_canonical(user, strlen(user), out);
}

static int userdir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct userdir_entry *)a)->user,
		      ((const struct userdir_entry *)b)->user);
}

/* Parses "user:secret" into the directory; -1 with a reason. */
static int userdir_parse_line(struct userdir *dir, size_t *cap, char *line,
			      const char **why_r)
{
	char user[USERDIR_MAX_USER + 1], *colon = strchr(line, ':');
	char *secret;

	if (colon == NULL)
		return (*why_r = "expected 'userid:password-hash'", -1);
	*colon = '\0';
	secret = colon + 1;
	if (userdir_canonical_user(line, user) < 0)
		return (*why_r = "bad user id (1-64 of letters, digits, . _ - + @)", -1);
	if (*secret == '\0')
		return (*why_r = "empty password hash", -1);
	if (strncmp(secret, USERDIR_PLAIN, strlen(USERDIR_PLAIN)) == 0)
		dir->plaintext_count++;
	else if (secret[0] != '$')
		return (*why_r = "not a crypt(3) hash ('$id$...') nor {PLAIN}", -1);
	if (dir->count == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		dir->entries = xrealloc(dir->entries, *cap * sizeof(*dir->entries));
	}
	dir->entries[dir->count].user = xstrdup(user);
	dir->entries[dir->count].secret = xstrdup(secret);
	dir->count++;
	return 0;
}

static int userdir_check_duplicates(struct userdir *dir, const char *path,
				    const char **error_r)
{
	size_t i;

	for (i = 1; i < dir->count; i++) {
		if (strcmp(dir->entries[i - 1].user, dir->entries[i].user) == 0)
			return error_set(error_r, "%s: user '%s' is listed twice",
					 path, dir->entries[i].user);
	}
	return 0;
}

int userdir_load(const char *path, struct userdir **dir_r, const char **error_r)
{
	struct userdir *dir = xcalloc(1, sizeof(*dir));
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t linecap = 0, cap = 0, lineno = 0;
	ssize_t n;
	int ret = 0;

	if (f == NULL) {
		free(dir);
		return error_set(error_r, "%s: cannot open: %s", path, strerror(errno));
	}
	while (ret == 0 && (n = getline(&line, &linecap, f)) >= 0) {
		const char *why;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (userdir_parse_line(dir, &cap, line, &why) < 0)
			ret = error_set(error_r, "%s:%zu: %s", path, lineno, why);
	}
	free(line);
	fclose(f);
	if (ret == 0 && dir->count > 0) {
		qsort(dir->entries, dir->count, sizeof(*dir->entries), userdir_cmp);
		ret = userdir_check_duplicates(dir, path, error_r);
	}
	if (ret < 0) {
		userdir_free(&dir);
		return -1;
	}
	*dir_r = dir;
	return 0;
}

void userdir_free(struct userdir **dirp)
{
	struct userdir *dir = *dirp;
	size_t i;

	if (dir == NULL)
		return;
	*dirp = NULL;
	for (i = 0; i < dir->count; i++) {
		free(dir->entries[i].user);
		/* The secret is a hash at worst, but still: do not leave it. */
		OPENSSL_cleanse(dir->entries[i].secret, strlen(dir->entries[i].secret));
		free(dir->entries[i].secret);
	}
	free(dir->entries);
	free(dir);
}

const struct userdir_entry *userdir_find(const struct userdir *dir, const char *user)
{
	struct userdir_entry key = { (char *)user, NULL };

	if (dir->count == 0)
		return NULL;
	return bsearch(&key, dir->entries, dir->count, sizeof(*dir->entries), userdir_cmp);
}

int userdir_check_secret(const char *secret, const char *password)
{
	struct crypt_data *data;
	const char *hash;
	size_t len;
	int ret;

	if (strncmp(secret, USERDIR_PLAIN, strlen(USERDIR_PLAIN)) == 0) {
		secret += strlen(USERDIR_PLAIN);
		len = strlen(secret);
		return len == strlen(password) && CRYPTO_memcmp(secret, password, len) == 0;
	}
	/* struct crypt_data is large (~32 KB): not for a worker's stack. */
	data = xcalloc(1, sizeof(*data));
	hash = crypt_rn(password, secret, data, (int)sizeof(*data));
	if (hash == NULL || hash[0] == '*') {
		ret = -1;
	} else {
		len = strlen(secret);
		ret = strlen(hash) == len && CRYPTO_memcmp(hash, secret, len) == 0;
	}
	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return ret;
}

int userdir_hash_password(const char *password, char *out, size_t size,
			  const char **error_r)
{
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	const char *setting, *hash;
	int ret = 0;

	/* "$y$": yescrypt at libxcrypt's default cost. */
	setting = crypt_gensalt_rn("$y$", 0, NULL, 0, data->setting, sizeof(data->setting));
	hash = setting != NULL ? crypt_rn(password, setting, data, (int)sizeof(*data)) : NULL;
	if (hash == NULL || hash[0] == '*')
		ret = error_set(error_r, "crypt_rn(yescrypt) failed: %s", strerror(errno));
	else if (strlen(hash) >= size)
		ret = error_set(error_r, "hash longer than %zu bytes", size);
	else
		strcpy(out, hash);
	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return ret;
}
