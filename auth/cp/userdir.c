#include "autoconfig.h"
#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
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

/* Splits the secrets of a line: "HASH", "HASH:SCRAM-SHA-256$..." or
   "SCRAM-SHA-256$...".  Sets *scram_r (NULL when none) and cuts it off. */
static void userdir_split_scram(char *secret, char **scram_r)
{
	char *s;

	*scram_r = NULL;
	if (strncmp(secret, USERDIR_SCRAM_PREFIX, strlen(USERDIR_SCRAM_PREFIX)) == 0) {
		*scram_r = secret;
		return;
	}
	s = strstr(secret, ":" USERDIR_SCRAM_PREFIX);
	if (s != NULL) {
		*s = '\0';
		*scram_r = s + 1;
	}
}

/* Parses "user:secret" into the directory; -1 with a reason. */
static int userdir_parse_line(struct userdir *dir, size_t *cap, char *line,
			      const char **why_r)
{
	char user[USERDIR_MAX_USER + 1], *colon = strchr(line, ':');
	char *secret, *scram;
	struct vimap_scram_secret parsed;

	if (colon == NULL)
		return (*why_r = "expected 'userid:password-hash'", -1);
	*colon = '\0';
	secret = colon + 1;
	if (userdir_canonical_user(line, user) < 0)
		return (*why_r = "bad user id (1-64 of letters, digits, . _ - + @)", -1);
	userdir_split_scram(secret, &scram);
	if (scram != NULL && userdir_scram_parse(scram, &parsed) < 0)
		return (*why_r = "malformed SCRAM-SHA-256 secret (RFC 5803: "
			"SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY)", -1);
	OPENSSL_cleanse(&parsed, sizeof(parsed));
	if (scram == secret)
		secret = NULL;
	else if (*secret == '\0')
		return (*why_r = "empty password hash", -1);
	else if (strncmp(secret, USERDIR_PLAIN, strlen(USERDIR_PLAIN)) == 0)
		dir->plaintext_count++;
	else if (secret[0] != '$')
		return (*why_r = "not a crypt(3) hash ('$id$...') nor {PLAIN} nor SCRAM-SHA-256$", -1);
	if (dir->count == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		dir->entries = xrealloc(dir->entries, *cap * sizeof(*dir->entries));
	}
	dir->entries[dir->count].user = xstrdup(user);
	dir->entries[dir->count].secret = secret != NULL ? xstrdup(secret) : NULL;
	dir->entries[dir->count].scram = scram != NULL ? xstrdup(scram) : NULL;
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
		if (dir->entries[i].secret != NULL)
			OPENSSL_cleanse(dir->entries[i].secret, strlen(dir->entries[i].secret));
		free(dir->entries[i].secret);
		if (dir->entries[i].scram != NULL)
			OPENSSL_cleanse(dir->entries[i].scram, strlen(dir->entries[i].scram));
		free(dir->entries[i].scram);
	}
	free(dir->entries);
	free(dir);
}

const struct userdir_entry *userdir_find(const struct userdir *dir, const char *user)
{
	struct userdir_entry key = { (char *)user, NULL, NULL };

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

/* ---- SCRAM-SHA-256 secrets (RFC 5802, RFC 5803) ---- */

/* Decodes padded base64 of in[0..len) into out[0..want); -1 unless it is
   exactly `want` octets (want 0: any length up to max, *len_r set). */
static int userdir_b64(const char *in, size_t len, unsigned char *out, size_t max,
		       size_t *len_r)
{
	unsigned char buf[128];
	size_t pad = 0, i;
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf))
		return -1;
	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '=' && i >= len - 2) {
			pad++;
			continue;
		}
		if (pad > 0 || !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
				 (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
			return -1;
	}
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > max)
		return -1;
	memcpy(out, buf, (size_t)n - pad);
	*len_r = (size_t)n - pad;
	return 0;
}

int userdir_scram_parse(const char *text, struct vimap_scram_secret *secret)
{
	const char *p = text + strlen(USERDIR_SCRAM_PREFIX), *colon, *dollar, *colon2;
	size_t len;
	char *end;
	unsigned long iter;

	if (strncmp(text, USERDIR_SCRAM_PREFIX, strlen(USERDIR_SCRAM_PREFIX)) != 0)
		return -1;
	memset(secret, 0, sizeof(*secret));
	errno = 0;
	iter = strtoul(p, &end, 10);
	if (end == p || *end != ':' || errno != 0 || iter < 1 || iter > 10000000)
		return -1;
	secret->iterations = (uint32_t)iter;
	colon = end;
	dollar = strchr(colon + 1, '$');
	colon2 = dollar != NULL ? strchr(dollar + 1, ':') : NULL;
	if (colon2 == NULL ||
	    userdir_b64(colon + 1, (size_t)(dollar - colon - 1), secret->salt,
			sizeof(secret->salt), &len) < 0)
		return -1;
	secret->salt_len = (uint32_t)len;
	if (userdir_b64(dollar + 1, (size_t)(colon2 - dollar - 1), secret->stored_key, 32,
			&len) < 0 || len != 32 ||
	    userdir_b64(colon2 + 1, strlen(colon2 + 1), secret->server_key, 32, &len) < 0 ||
	    len != 32)
		return -1;
	return 0;
}

/* SaltedPassword, then ClientKey -> StoredKey and ServerKey. */
static int userdir_scram_keys(const char *password, const unsigned char *salt,
			      size_t salt_len, unsigned iterations,
			      unsigned char stored_key[32], unsigned char server_key[32])
{
	unsigned char salted[32], client_key[32];
	unsigned len = 32;
	int ok;

	ok = PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
			       (int)iterations, EVP_sha256(), sizeof(salted), salted) == 1 &&
	     HMAC(EVP_sha256(), salted, sizeof(salted), (const unsigned char *)"Client Key", 10,
		  client_key, &len) != NULL &&
	     HMAC(EVP_sha256(), salted, sizeof(salted), (const unsigned char *)"Server Key", 10,
		  server_key, &len) != NULL;
	if (ok)
		SHA256(client_key, sizeof(client_key), stored_key);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return ok ? 0 : -1;
}

int userdir_scram_make(const char *password, unsigned iterations, char *out, size_t size,
		       const char **error_r)
{
	unsigned char salt[16], stored[32], server[32];
	unsigned char salt64[32], stored64[48], server64[48];
	int n;

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return error_set(error_r, "RAND_bytes failed");
	if (userdir_scram_keys(password, salt, sizeof(salt), iterations, stored, server) < 0)
		return error_set(error_r, "PKCS5_PBKDF2_HMAC failed");
	EVP_EncodeBlock(salt64, salt, sizeof(salt));
	EVP_EncodeBlock(stored64, stored, sizeof(stored));
	EVP_EncodeBlock(server64, server, sizeof(server));
	n = snprintf(out, size, USERDIR_SCRAM_PREFIX "%u:%s$%s:%s", iterations,
		     (const char *)salt64, (const char *)stored64, (const char *)server64);
	if (n < 0 || (size_t)n >= size)
		return error_set(error_r, "SCRAM secret longer than %zu bytes", size);
	return 0;
}

int userdir_scram_check(const struct vimap_scram_secret *secret, const char *password)
{
	unsigned char stored[32], server[32];
	int ok;

	if (userdir_scram_keys(password, secret->salt, secret->salt_len, secret->iterations,
			       stored, server) < 0)
		return 0;
	ok = CRYPTO_memcmp(stored, secret->stored_key, 32) == 0;
	OPENSSL_cleanse(server, sizeof(server));
	return ok;
}
