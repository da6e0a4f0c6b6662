#include "autoconfig.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "trace.h"

static atomic_uint trace_classes;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static char trace_address[64]; /* empty: every client */

void trace_set(unsigned mask, int on, const char *address)
{
	pthread_mutex_lock(&trace_lock);
	if (mask & VIMAP_TRACE_SOCKETIO) {
		if (on && address != NULL)
			snprintf(trace_address, sizeof(trace_address), "%s", address);
		else
			trace_address[0] = '\0';
	}
	if (on)
		atomic_fetch_or(&trace_classes, mask);
	else
		atomic_fetch_and(&trace_classes, ~mask);
	pthread_mutex_unlock(&trace_lock);
}

unsigned trace_mask(void)
{
	return atomic_load(&trace_classes);
}

int trace_on(unsigned cls, const char *peer)
{
	int match;

	if ((atomic_load(&trace_classes) & cls) == 0)
		return 0;
	if (cls != VIMAP_TRACE_SOCKETIO || peer == NULL)
		return 1;
	pthread_mutex_lock(&trace_lock);
	match = trace_address[0] == '\0' || strcmp(trace_address, peer) == 0;
	pthread_mutex_unlock(&trace_lock);
	return match;
}

void trace_vmsg(const char *subsystem, const char *fmt, va_list ap)
{
	log_vtrace(subsystem, fmt, ap);
}

void trace_msg(const char *subsystem, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	trace_vmsg(subsystem, fmt, ap);
	va_end(ap);
}
