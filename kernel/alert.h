/* The administrator's ALERT: text every connected client gets as
 * "* OK [ALERT] text" on its next command (RFC 3501 7.1).  Set and cleared
 * by the admin ALERT command; read by every I/O thread. */
#ifndef VIMAP_ALERT_H
#define VIMAP_ALERT_H

#include <stdint.h>

/* Sets the alert text (NULL or "" clears it). */
void alert_set(const char *text);

/* The alert's generation: it changes whenever the text is set. */
uint32_t alert_generation(void);

/* Copies the current alert into buf (size bytes) when it is set and its
   generation differs from *seen; updates *seen.  1 when there is one to
   send, else 0. */
int alert_take(uint32_t *seen, char *buf, size_t size);

#endif
