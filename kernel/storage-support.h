/* What every storage plugin needs and would otherwise write again: the
 * error helper, the mailboxes a new user gets, and a list of mailbox names
 * read before any callback runs.  Compiled into libvimapsupport (the
 * plugins' support library), not into the kernel. */
#ifndef VIMAP_STORAGE_SUPPORT_H
#define VIMAP_STORAGE_SUPPORT_H

#include <vimap/storage.h>

/* Fills err (code and a formatted text, thread-local as error_fmt's) and
   returns -1; a NULL err is allowed (nothing is filled). */
int storage_fail(struct vimap_storage_error *err, enum vimap_storage_code code,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The mailboxes ENROLL makes, with their special use (RFC 6154). */
struct storage_default_mailbox {
	const char *name;
	uint32_t special_use;
};
extern const struct storage_default_mailbox storage_default_mailboxes[];
extern const unsigned storage_default_mailbox_count;

/* Mailbox names with their info, collected while a connection or a
   transaction is held and handed to the kernel's callback after it is
   given back, so the callback may call the plugin again. */
struct storage_names {
	char **names;
	struct vimap_mailbox_info *infos;
	int *present;              /* infos[i] is valid */
	unsigned count, alloc;
};
#define STORAGE_NAMES_INIT { NULL, NULL, NULL, 0, 0 }

/* Appends a copy of `name`; `info` may be NULL. */
void storage_names_add(struct storage_names *nl, const char *name,
		       const struct vimap_mailbox_info *info);
/* Calls cb for each name in order (info NULL where none was given). */
void storage_names_emit(const struct storage_names *nl, vimap_name_cb *cb, void *ctx);
void storage_names_free(struct storage_names *nl);

#endif
