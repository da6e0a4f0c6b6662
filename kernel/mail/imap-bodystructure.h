/* FETCH BODY and BODYSTRUCTURE (RFC 3501 7.4.2, syntax in section 9) of a
 * parsed message.
 *
 * Case rule: everything RFC 2045 makes case-insensitive is sent uppercased
 * (type, subtype, parameter names, transfer encoding, disposition type), as
 * Cyrus does; everything else (parameter values, ids, descriptions,
 * languages, locations) is sent as written.  Absent fields get the RFC 2045
 * defaults: "TEXT" "PLAIN" ("CHARSET" "US-ASCII") and "7BIT"; a text part
 * without a charset parameter is given ("CHARSET" "US-ASCII").
 *
 * BODYSTRUCTURE always carries all four extension fields (md5 or multipart
 * parameters, disposition, language, location).  A multipart with no body
 * part (its boundary never appeared) is given one empty text/plain part so
 * the output stays valid (as Dovecot does); a message/rfc822 part whose
 * encapsulated message is missing gets an all-NIL envelope and such an
 * empty part. */
#ifndef VIMAP_IMAP_BODYSTRUCTURE_H
#define VIMAP_IMAP_BODYSTRUCTURE_H

#include <stdbool.h>
#include "strbuf.h"
#include "message-parser.h"

/* Appends the BODY (extended = false) or BODYSTRUCTURE (extended = true) of
   `part` and everything under it; part offsets are into `data`. */
void imap_bodystructure_write(struct strbuf *out, const char *data,
			      const struct message_part *part, bool extended);

#endif
