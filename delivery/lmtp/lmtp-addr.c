/* MAIL FROM / RCPT TO arguments (RFC 5321 4.1.2, as LMTP uses them):
 * "FROM:<path> params", quoted local parts, an old source route
 * ("<@a,@b:user@d>", whose route is dropped), ESMTP parameters. */
#include "autoconfig.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "error.h"
#include "lmtp-private.h"
#include "strbuf.h"
#include "xalloc.h"

#define LMTP_PATH_MAX 512

/* Copies the path after '<' up to its '>' into `path`; returns the end
   (just after '>') or NULL with an error. */
static const char *lmtp_addr_path(const char *p, struct strbuf *path, const char **error_r)
{
	int quoted = 0;

	for (; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f) {
			error_set(error_r, "control character in the address");
			return NULL;
		}
		if (path->len >= LMTP_PATH_MAX) {
			error_set(error_r, "address too long");
			return NULL;
		}
		if (quoted && c == '\\' && p[1] != '\0') {
			/* The escaped character is checked too: a CR there would
			   reach the Return-Path and Delivered-To lines. */
			if ((unsigned char)p[1] < 0x20 || (unsigned char)p[1] == 0x7f) {
				error_set(error_r, "control character in the address");
				return NULL;
			}
			strbuf_appendc(path, *p++);
		} else if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && c == '>') {
			return p + 1;
		} else if (!quoted && (c == '<' || c == ' ')) {
			error_set(error_r, "'%c' in the address", c);
			return NULL;
		}
		strbuf_appendc(path, *p);
	}
	error_set(error_r, "no '>' after the address");
	return NULL;
}

int lmtp_addr_parse(const char *args, const char *keyword, char **path_r,
		    const char **params_r, const char **error_r)
{
	struct strbuf path = STRBUF_INIT;
	size_t klen = strlen(keyword);
	const char *p = args, *colon;

	while (*p == ' ')
		p++;
	if (strncasecmp(p, keyword, klen) != 0 || p[klen] != ':')
		return error_set(error_r, "syntax: %s %s:<address>",
				 strcmp(keyword, "FROM") == 0 ? "MAIL" : "RCPT", keyword);
	p += klen + 1;
	while (*p == ' ')
		p++;
	if (*p != '<')
		return error_set(error_r, "the address must be in angle brackets");
	if ((p = lmtp_addr_path(p + 1, &path, error_r)) == NULL) {
		strbuf_free(&path);
		return -1;
	}
	if (*p != '\0' && *p != ' ') {
		strbuf_free(&path);
		return error_set(error_r, "text after '>' without a blank");
	}
	while (*p == ' ')
		p++;
	*params_r = p;
	*path_r = path.data != NULL ? strbuf_steal(&path) : xstrdup("");
	/* "@a,@b:user@d": the route is obsolete; keep the mailbox. */
	if ((*path_r)[0] == '@' && (colon = strchr(*path_r, ':')) != NULL)
		memmove(*path_r, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

char *lmtp_addr_user(const char *addr, const char *delimiter)
{
	const char *at = NULL, *p;
	struct strbuf user = STRBUF_INIT;
	int quoted = 0;
	size_t len;

	for (p = addr; *p != '\0'; p++) {
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '@')
			at = p;
	}
	len = at != NULL ? (size_t)(at - addr) : strlen(addr);
	/* Unquote: "a b"@x is the local part a b. */
	for (p = addr; p < addr + len; p++) {
		if (*p == '"')
			continue;
		if (*p == '\\' && p + 1 < addr + len)
			p++;
		strbuf_appendc(&user, *p);
	}
	if (user.data == NULL)
		return xstrdup("");
	if (delimiter != NULL && *delimiter != '\0') {
		size_t cut = strcspn(user.data, delimiter);

		/* "+detail" alone is no user: keep it whole. */
		if (cut > 0)
			user.data[cut] = '\0';
	}
	return strbuf_steal(&user);
}

/* Parses a decimal SIZE value. */
static int lmtp_addr_size(const char *value, size_t len, uint64_t *size_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)value[i]))
			return -1;
		v = v * 10 + (uint64_t)(value[i] - '0');
	}
	*size_r = v;
	return 0;
}

int lmtp_addr_mail_params(const char *params, uint64_t *size_r, const char **error_r)
{
	const char *p = params;

	*size_r = 0;
	while (*p != '\0') {
		size_t len = strcspn(p, " ");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq != NULL ? (size_t)(eq - p) : len;
		const char *val = eq != NULL ? eq + 1 : p + len;
		size_t vlen = (size_t)(p + len - val);

		if (klen == 4 && strncasecmp(p, "SIZE", 4) == 0) {
			if (lmtp_addr_size(val, vlen, size_r) < 0)
				return error_set(error_r, "SIZE=%.*s is no size", (int)vlen, val);
		} else if (klen == 4 && strncasecmp(p, "BODY", 4) == 0) {
			if (!((vlen == 4 && strncasecmp(val, "7BIT", 4) == 0) ||
			      (vlen == 8 && strncasecmp(val, "8BITMIME", 8) == 0)))
				return error_set(error_r, "BODY=%.*s is not supported",
						 (int)vlen, val);
		} else {
			return error_set(error_r, "parameter %.*s is not supported",
					 (int)(klen > 64 ? 64 : klen), p);
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}
