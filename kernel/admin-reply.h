/* Replies of the admin commands (admin-commands.c, admin-share.c), as the
 * admin socket sends them: {"ok": true, "output": TEXT, "data": DATA} or
 * {"ok": false, "error": TEXT}.  Each returns a new reference. */
#ifndef VIMAP_ADMIN_REPLY_H
#define VIMAP_ADMIN_REPLY_H

#include <jansson.h>

/* `data` (may be NULL) is taken over. */
json_t *admin_ok(json_t *data, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
json_t *admin_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The sharing commands (admin-share.c). */
json_t *admin_grant(const char *const *args, unsigned argc);
json_t *admin_revoke(const char *const *args, unsigned argc);
json_t *admin_sharefolder(const char *const *args, unsigned argc);

#endif
