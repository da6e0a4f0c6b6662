#include "autoconfig.h"
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "admin.h"
#include "console.h"
#include "error.h"
#include "log.h"
#include "strbuf.h"

#define CONSOLE_MAX_ARGS 64

static struct {
	pthread_t thread;
	int running;
	int stop_fd;
} console = { 0, 0, -1 };

/* Splits a line into blank-separated words, in place. */
static unsigned console_split(char *line, char **words, unsigned max)
{
	unsigned n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(line, " \t\r\n", &save); w != NULL && n < max;
	     w = strtok_r(NULL, " \t\r\n", &save))
		words[n++] = w;
	return n;
}

static void console_run_line(char *line)
{
	char *words[CONSOLE_MAX_ARGS + 1];
	unsigned n = console_split(line, words, CONSOLE_MAX_ARGS + 1);
	json_t *res;

	if (n == 0)
		return;
	res = admin_execute("console", words[0], (const char *const *)words + 1, n - 1);
	if (json_is_true(json_object_get(res, "ok")))
		printf("%s\n", json_string_value(json_object_get(res, "output")));
	else
		printf("error: %s\n", json_string_value(json_object_get(res, "error")));
	fflush(stdout);
	json_decref(res);
}

static void *console_main(void *arg)
{
	struct strbuf pending = STRBUF_INIT;
	char buf[4096];

	for (;;) {
		struct pollfd pfd[2] = { { STDIN_FILENO, POLLIN, 0 }, { console.stop_fd, POLLIN, 0 } };
		char *lf;
		ssize_t n;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents != 0)
			break;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0)
			break; /* end of file: no console */
		strbuf_append(&pending, buf, (size_t)n);
		while ((lf = memchr(pending.data, '\n', pending.len)) != NULL) {
			*lf = '\0';
			console_run_line(pending.data);
			strbuf_consume(&pending, (size_t)(lf - pending.data) + 1);
		}
		if (pending.len > 65536)
			strbuf_reset(&pending); /* no command is that long */
	}
	strbuf_free(&pending);
	return NULL;
}

int console_start(const char **error_r)
{
	console.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (console.stop_fd < 0)
		return error_set(error_r, "eventfd() failed: %s", strerror(errno));
	if (pthread_create(&console.thread, NULL, console_main, NULL) != 0) {
		close(console.stop_fd);
		console.stop_fd = -1;
		return error_set(error_r, "console thread could not start");
	}
	console.running = 1;
	return 0;
}

void console_stop(void)
{
	uint64_t one = 1;

	if (console.running) {
		if (write(console.stop_fd, &one, sizeof(one)) < 0)
			log_error("console", "write(stop) failed: %s", strerror(errno));
		pthread_join(console.thread, NULL);
		console.running = 0;
	}
	if (console.stop_fd >= 0)
		close(console.stop_fd);
	console.stop_fd = -1;
}
