/* Logging: one line per event, in one format everywhere:
 *     SUBSYSTEM: what failed: why
 * to stderr (with a timestamp and level) or to syslog (facility mail). */
#ifndef VIMAP_LOG_H
#define VIMAP_LOG_H

#include <stdarg.h>
#include <vimap/host.h>

/* Chooses where lines go; "stderr" until called.  `min_level` drops lines
   below it.  Not thread-safe: call at start-up, before threads exist. */
void log_init(const char *ident, int use_syslog, enum vimap_log_level min_level);
void log_deinit(void);

/* Writes "SUBSYSTEM: message".  Thread-safe; one write per line. */
void log_msg(enum vimap_log_level level, const char *subsystem,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_vmsg(enum vimap_log_level level, const char *subsystem,
	      const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Writes a trace line: labelled "trace", never dropped by the level. */
void log_vtrace(const char *subsystem, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(sub, ...) log_msg(VIMAP_LOG_ERROR, sub, __VA_ARGS__)
#define log_warning(sub, ...) log_msg(VIMAP_LOG_WARNING, sub, __VA_ARGS__)
#define log_info(sub, ...) log_msg(VIMAP_LOG_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...) log_msg(VIMAP_LOG_DEBUG, sub, __VA_ARGS__)

#endif
