#include "autoconfig.h"
#include <string.h>
#include <strings.h>
#include <vimap/storage.h>
#include "error.h"
#include "imap-flags.h"
#include "strbuf.h"

static const struct {
	const char *name;
	uint32_t bit;
} imap_system_flags[] = {
	{ "\\Seen", VIMAP_FLAG_SEEN }, { "\\Answered", VIMAP_FLAG_ANSWERED },
	{ "\\Flagged", VIMAP_FLAG_FLAGGED }, { "\\Deleted", VIMAP_FLAG_DELETED },
	{ "\\Draft", VIMAP_FLAG_DRAFT },
};

/* 1 when `kw` is already in the space-separated list. */
static int imap_flags_has(const struct strbuf *list, const char *kw, size_t len)
{
	const char *p = list->data;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ' ');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		if (n == len && strncasecmp(p, kw, len) == 0)
			return 1;
		p = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

static int imap_flags_one(const struct imap_arg *a, uint32_t *flags,
			  struct strbuf *keywords, const char **error_r)
{
	size_t i;

	if (a->type != IMAP_ARG_ATOM || a->len == 0 || strpbrk(a->str, "[]%*") != NULL)
		return error_set(error_r, "Invalid flag");
	if (a->str[0] == '\\') {
		for (i = 0; i < sizeof(imap_system_flags) / sizeof(imap_system_flags[0]); i++) {
			if (strcasecmp(a->str, imap_system_flags[i].name) == 0) {
				*flags |= imap_system_flags[i].bit;
				return 0;
			}
		}
		return error_set(error_r, "Flag %.40s cannot be set", a->str);
	}
	if (!imap_flags_has(keywords, a->str, a->len)) {
		if (keywords->len > 0)
			strbuf_appendc(keywords, ' ');
		strbuf_append(keywords, a->str, a->len);
	}
	return 0;
}

int imap_flags_parse(const struct imap_arg *arg, uint32_t *flags_r,
		     struct strbuf *keywords, const char **error_r)
{
	unsigned i;

	*flags_r = 0;
	if (arg->type != IMAP_ARG_LIST)
		return imap_flags_one(arg, flags_r, keywords, error_r);
	for (i = 0; i < arg->count; i++) {
		if (imap_flags_one(&arg->list[i], flags_r, keywords, error_r) < 0)
			return -1;
	}
	return 0;
}
