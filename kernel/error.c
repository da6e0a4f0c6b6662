#include "autoconfig.h"
#include <stdarg.h>
#include <stdio.h>
#include "error.h"

/* Two buffers alternate so that a message may be built from the previous
   one (error_fmt("loading %s: %s", name, previous_error)). */
static __thread char error_bufs[2][1024];
static __thread unsigned error_next;

static const char *error_vfmt(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

static const char *error_vfmt(const char *fmt, va_list ap)
{
	char *buf = error_bufs[error_next];

	error_next ^= 1;
	vsnprintf(buf, sizeof(error_bufs[0]), fmt, ap);
	return buf;
}

const char *error_fmt(const char *fmt, ...)
{
	va_list ap;
	const char *msg;

	va_start(ap, fmt);
	msg = error_vfmt(fmt, ap);
	va_end(ap);
	return msg;
}

int error_set(const char **error_r, const char *fmt, ...)
{
	va_list ap;
	const char *msg;

	va_start(ap, fmt);
	msg = error_vfmt(fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = msg;
	return -1;
}
