/* `vimap convert-config [--force] [SEEDFILE [OUTFILE]]`: translates the
 * seed's IMAP CONFIG file (FILEPOOLID, BADFILEID, MAILORIGINID, TRACE,
 * AUTHENTICATE, PORT, READERTHREADS, IDLETIMEOUT, ENROLLDEFAULTS) into
 * vimap's YAML configuration (docs/config.md), refusing what vimapd would
 * refuse, so that the result always loads with config_load(). */
#ifndef VIMAP_CONVERT_CONFIG_H
#define VIMAP_CONVERT_CONFIG_H

#include <stdio.h>
#include "strbuf.h"

/* Reads the seed file from `in` (named `in_name` in messages and in the
   output's header comment) and appends the equivalent YAML to `out`.
   Returns 0 on success.  On failure returns -1 with one message
   "IN_NAME:LINE: what is wrong" (or "IN_NAME: ..." for a missing required
   statement or a read error) in *error_r, valid until this thread formats
   its next error, and leaves `out` as it was.  Non-fatal findings (a
   statement given twice: the later wins) are appended to `warnings`, one
   line each ending in '\n', "IN_NAME:LINE: warning: ..."; `warnings` may
   be NULL.  `in` stays open and owned by the caller. */
int convert_config(FILE *in, const char *in_name, struct strbuf *out,
		   struct strbuf *warnings, const char **error_r);

/* Writes `data` to `path` atomically: a temporary file beside it, fsync,
   then rename (with `force`) or link (without: an existing `path` is
   refused, even one that appears meanwhile), then the directory is
   fsynced.  A replaced file's permission bits are kept; a new file gets
   0666 less the umask.  Returns 0, or -1 with a reason in *error_r; no
   temporary file is left behind either way. */
int convert_config_write(const char *path, const struct strbuf *data, int force,
			 const char **error_r);

/* Runs the command; argv[0] is "convert-config", then [--force] [--]
   [SEEDFILE [OUTFILE]] where a missing or "-" SEEDFILE is standard input
   and a missing or "-" OUTFILE standard output.  Warnings and errors go
   to standard error.  Returns the exit status: 0 converted, 1 refused or
   failed (nothing written), 2 usage error. */
int convert_config_command(int argc, char **argv);

#endif
