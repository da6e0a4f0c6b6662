#include "autoconfig.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "alert.h"

static pthread_mutex_t alert_lock = PTHREAD_MUTEX_INITIALIZER;
static char alert_text[512];
/* Starts at 1 and clients at 0: a client that connects while an alert
   stands hears it on its first command, like those already connected. */
static atomic_uint alert_gen = 1;

void alert_set(const char *text)
{
	char *p;

	pthread_mutex_lock(&alert_lock);
	snprintf(alert_text, sizeof(alert_text), "%s", text != NULL ? text : "");
	/* No CR or LF may break the response line. */
	for (p = alert_text; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	}
	atomic_fetch_add(&alert_gen, 1);
	pthread_mutex_unlock(&alert_lock);
}

uint32_t alert_generation(void)
{
	return atomic_load(&alert_gen);
}

int alert_take(uint32_t *seen, char *buf, size_t size)
{
	uint32_t gen = atomic_load(&alert_gen);
	int have;

	if (gen == *seen)
		return 0;
	pthread_mutex_lock(&alert_lock);
	*seen = atomic_load(&alert_gen);
	have = alert_text[0] != '\0';
	if (have)
		snprintf(buf, size, "%s", alert_text);
	pthread_mutex_unlock(&alert_lock);
	return have;
}
