/* IMAP dates (RFC 3501 formal syntax): "date" for SEARCH, "date-time" for
 * APPEND and INTERNALDATE. */
#ifndef VIMAP_IMAP_DATE_H
#define VIMAP_IMAP_DATE_H

#include <stdint.h>

/* Parses a date "1-Feb-1994" / "01-Feb-1994" (day 1 or 2 digits, month
   name case-insensitive, 4-digit year).  *time_r is midnight UTC of that
   day (SEARCH compares dates without time or zone).  0 or -1. */
int imap_date_parse(const char *text, int64_t *time_r);

/* Parses a date-time "17-Jul-1996 02:44:25 -0700" (day may start with a
   space).  *time_r is seconds since the epoch (UTC); *tz_r the zone in
   minutes east of UTC.  0 or -1. */
int imap_datetime_parse(const char *text, int64_t *time_r, int32_t *tz_r);

/* Writes the date-time of (time, tz) as RFC 3501 INTERNALDATE, without
   quotes, into out: "17-Jul-1996 02:44:25 -0700". */
void imap_datetime_format(int64_t time, int32_t tz, char out[64]);

/* The day (midnight UTC of the local date in zone tz) of (time, tz): what
   SEARCH BEFORE/ON/SINCE compare with. */
int64_t imap_date_day(int64_t time, int32_t tz);

#endif
