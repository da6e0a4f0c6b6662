#include "autoconfig.h"
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

static int log_use_syslog;
static enum vimap_log_level log_min_level = VIMAP_LOG_INFO;

/* LOG_LEVEL_TRACE is internal: traces are asked for, so never filtered. */
#define LOG_LEVEL_TRACE 4
static const char *const log_level_names[] = {
	"debug", "info", "warning", "error", "trace"
};

void log_init(const char *ident, int use_syslog, enum vimap_log_level min_level)
{
	log_use_syslog = use_syslog;
	log_min_level = min_level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_deinit(void)
{
	if (log_use_syslog)
		closelog();
	log_use_syslog = 0;
}

static int log_syslog_priority(int level)
{
	switch (level) {
	case VIMAP_LOG_DEBUG: return LOG_DEBUG;
	case VIMAP_LOG_INFO: return LOG_INFO;
	case VIMAP_LOG_WARNING: return LOG_WARNING;
	case LOG_LEVEL_TRACE: return LOG_INFO;
	default: return LOG_ERR;
	}
}

static void log_write(int level, const char *subsystem, const char *fmt,
		      va_list ap) __attribute__((format(printf, 3, 0)));

static void log_write(int level, const char *subsystem, const char *fmt,
		      va_list ap)
{
	char line[2048], stamp[32], *p;
	int n;
	struct tm tm;
	time_t now;

	n = snprintf(line, sizeof(line), "%s: ", subsystem);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* Log lines carry what clients sent (user ids, mailbox names); a CR,
	   LF or other control byte in them must not forge a line of its own. */
	for (p = line; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	if (log_use_syslog) {
		syslog(log_syslog_priority(level), "%s", line);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* One fprintf per line: stdio locks the stream, so lines from
	   different threads never interleave. */
	fprintf(stderr, "%s vimapd[%d] %s: %s\n", stamp, (int)getpid(),
		log_level_names[level], line);
}

void log_vmsg(enum vimap_log_level level, const char *subsystem,
	      const char *fmt, va_list ap)
{
	if (level >= log_min_level)
		log_write((int)level, subsystem, fmt, ap);
}

void log_vtrace(const char *subsystem, const char *fmt, va_list ap)
{
	log_write(LOG_LEVEL_TRACE, subsystem, fmt, ap);
}

void log_msg(enum vimap_log_level level, const char *subsystem,
	     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, subsystem, fmt, ap);
	va_end(ap);
}
