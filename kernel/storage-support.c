#include "autoconfig.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "error.h"
#include "storage-support.h"
#include "xalloc.h"

int storage_fail(struct vimap_storage_error *err, enum vimap_storage_code code,
		 const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	err->code = code;
	err->text = error_fmt("%s", buf);
	return -1;
}

const struct storage_default_mailbox storage_default_mailboxes[] = {
	{ "INBOX", 0 },
	{ "Drafts", VIMAP_SPECIAL_DRAFTS },
	{ "Sent", VIMAP_SPECIAL_SENT },
	{ "Trash", VIMAP_SPECIAL_TRASH },
	{ "Junk", VIMAP_SPECIAL_JUNK },
};
const unsigned storage_default_mailbox_count =
	sizeof(storage_default_mailboxes) / sizeof(storage_default_mailboxes[0]);

void storage_names_add(struct storage_names *nl, const char *name,
		       const struct vimap_mailbox_info *info)
{
	if (nl->count == nl->alloc) {
		nl->alloc = nl->alloc == 0 ? 16 : nl->alloc * 2;
		nl->names = xrealloc(nl->names, nl->alloc * sizeof(*nl->names));
		nl->infos = xrealloc(nl->infos, nl->alloc * sizeof(*nl->infos));
		nl->present = xrealloc(nl->present, nl->alloc * sizeof(*nl->present));
	}
	nl->names[nl->count] = xstrdup(name);
	nl->present[nl->count] = info != NULL;
	if (info != NULL)
		nl->infos[nl->count] = *info;
	nl->count++;
}

void storage_names_emit(const struct storage_names *nl, vimap_name_cb *cb, void *ctx)
{
	unsigned i;

	for (i = 0; i < nl->count; i++)
		cb(ctx, nl->names[i], nl->present[i] ? &nl->infos[i] : NULL);
}

void storage_names_free(struct storage_names *nl)
{
	unsigned i;

	for (i = 0; i < nl->count; i++)
		free(nl->names[i]);
	free(nl->names);
	free(nl->infos);
	free(nl->present);
	nl->names = NULL;
	nl->infos = NULL;
	nl->present = NULL;
	nl->count = nl->alloc = 0;
}
