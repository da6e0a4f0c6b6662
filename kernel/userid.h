/* User ids, one rule for the kernel and every plugin (compiled into both
 * through libvimapsupport): case-insensitive as on VM, so kept in lower
 * case; letters, digits and . _ - + @; 1 to 64 bytes; never "." or "..".
 * A canonical id is therefore always one safe path component. */
#ifndef VIMAP_USERID_H
#define VIMAP_USERID_H

#include <stddef.h>

#define USERID_MAX 64

/* Lower-cases and checks in[0..len) into `out`.  0, or -1 when it cannot
   be a user id. */
int userid_canonical(const char *in, size_t len, char out[USERID_MAX + 1]);

#endif
