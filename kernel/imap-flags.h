/* Flag lists of APPEND and STORE: "(\Seen \Flagged $Junk)". */
#ifndef VIMAP_IMAP_FLAGS_H
#define VIMAP_IMAP_FLAGS_H

#include <stdint.h>
#include "imap-parser.h"

struct strbuf;

/* Reads a flag list (or one flag) into system-flag bits and a
   space-separated keyword list (duplicates dropped, case-insensitively).
   \Recent and unknown system flags are refused.  0, or -1 with a reason. */
int imap_flags_parse(const struct imap_arg *arg, uint32_t *flags_r,
		     struct strbuf *keywords, const char **error_r);

#endif
