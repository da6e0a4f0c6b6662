/* Run-time tracing, the seed's TRACE classes: CODEFLOW (module entry and
 * exit), SOCKLIBCALLS (socket calls), SOCKETIO (data both ways, optionally
 * for one client address; passwords masked by the caller).  Set from the
 * configuration at start-up and by the admin TRACE command at run time. */
#ifndef VIMAP_TRACE_H
#define VIMAP_TRACE_H

#include <vimap/host.h>

/* Turns the classes in `mask` on or off.  `address` (SOCKETIO only) limits
   socket I/O tracing to one client address; NULL means every client. */
void trace_set(unsigned mask, int on, const char *address);
/* The classes now on. */
unsigned trace_mask(void);
/* 1 when `cls` is on (and, for SOCKETIO, `peer` matches the address). */
int trace_on(unsigned cls, const char *peer);
/* Writes a trace line (log level debug is not needed: traces always go). */
void trace_msg(const char *subsystem, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void trace_vmsg(const char *subsystem, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
