#include "autoconfig.h"
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "admin.h"
#include "config.h"
#include "error.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

/* A request line is small; anything longer is refused. */
#define ADMIN_MAX_REQUEST 65536
#define ADMIN_MAX_ARGS 64
/* A peer gets this long to send its request. */
#define ADMIN_READ_TIMEOUT_MS 10000

static struct {
	int fd;
	int stop_fd;            /* eventfd: wakes the thread to stop */
	pthread_t thread;
	int running;
	char *path;
	const struct vimap_config *config;
} admin = { -1, -1, 0, 0, NULL, NULL };

/* The peer's user name when it is a listed administrator; NULL otherwise
   (and *name_r holds what it is, for the log). */
static int admin_peer_allowed(int fd, char *name, size_t size)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *res = NULL;
	char buf[1024];
	unsigned i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return snprintf(name, size, "unknown peer"), 0;
	if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
		snprintf(name, size, "uid %u", (unsigned)cred.uid);
		return 0;
	}
	snprintf(name, size, "%s", pw.pw_name);
	for (i = 0; i < admin.config->administrators_count; i++) {
		if (strcmp(admin.config->administrators[i], pw.pw_name) == 0)
			return 1;
	}
	return 0;
}

/* Reads one line (up to LF) with a deadline; -1 on timeout, EOF or size. */
static int admin_read_line(int fd, struct strbuf *line)
{
	char buf[4096];

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, ADMIN_READ_TIMEOUT_MS) <= 0)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return line->len > 0 ? 0 : -1;
		strbuf_append(line, buf, (size_t)n);
		if (memchr(buf, '\n', (size_t)n) != NULL)
			return 0;
		if (line->len > ADMIN_MAX_REQUEST)
			return -1;
	}
}

static void admin_reply(int fd, json_t *res)
{
	char *text = json_dumps(res, JSON_COMPACT);
	size_t len, off = 0;

	json_decref(res);
	if (text == NULL)
		return;
	len = strlen(text);
	text[len] = '\n'; /* json_dumps's NUL becomes the line end */
	while (off < len + 1) {
		ssize_t n = write(fd, text + off, len + 1 - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(text);
}

static json_t *admin_refusal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *admin_refusal(const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", text);
}

/* Parses {"command": ..., "args": [...]} and runs it. */
static json_t *admin_handle(const char *who, const char *line, size_t len)
{
	const char *args[ADMIN_MAX_ARGS];
	json_error_t jerr;
	json_t *req = json_loadb(line, len, 0, &jerr), *jargs, *res;
	const char *command;
	size_t i, argc = 0;

	if (req == NULL || !json_is_string(json_object_get(req, "command"))) {
		json_decref(req);
		return admin_refusal("malformed request: expected {\"command\": ..., \"args\": [...]}");
	}
	command = json_string_value(json_object_get(req, "command"));
	jargs = json_object_get(req, "args");
	if (jargs != NULL && (!json_is_array(jargs) || json_array_size(jargs) > ADMIN_MAX_ARGS)) {
		json_decref(req);
		return admin_refusal("malformed request: 'args' must be a list of at most 64 strings");
	}
	for (i = 0; jargs != NULL && i < json_array_size(jargs); i++) {
		args[argc] = json_string_value(json_array_get(jargs, i));
		if (args[argc++] == NULL) {
			json_decref(req);
			return admin_refusal("malformed request: argument %zu is not a string", i + 1);
		}
	}
	res = admin_execute(who, command, args, (unsigned)argc);
	json_decref(req);
	return res;
}

static void admin_serve(int fd)
{
	struct strbuf line = STRBUF_INIT;
	char who[256] = "unknown peer";

	/* The peer is judged before anything is read: someone who may not
	   administer cannot hold the one admin thread by sending nothing. */
	if (!admin_peer_allowed(fd, who, sizeof(who))) {
		log_warning("admin", "request from %s refused: not in the administrators list", who);
		admin_reply(fd, admin_refusal("%s is not a vimap administrator: add the user to "
					      "'administrators' in the configuration", who));
	} else if (admin_read_line(fd, &line) < 0) {
		log_warning("admin", "request from %s dropped: no complete line within %d s",
			    who, ADMIN_READ_TIMEOUT_MS / 1000);
	} else {
		admin_reply(fd, admin_handle(who, line.data, line.len));
	}
	strbuf_free(&line);
}

static void *admin_main(void *arg)
{
	for (;;) {
		struct pollfd pfd[2] = { { admin.fd, POLLIN, 0 }, { admin.stop_fd, POLLIN, 0 } };
		int fd;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents != 0)
			break;
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		fd = accept4(admin.fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		/* One request at a time, in order, as the seed's admin thread. */
		admin_serve(fd);
		close(fd);
	}
	return NULL;
}

static int admin_bind(const char *path, const char **error_r)
{
	struct sockaddr_un sun;
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
	}
	free(dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(error_r, "socket(AF_UNIX) failed: %s", strerror(errno));
	(void)unlink(path);
	/* Anyone may connect: SO_PEERCRED decides, and refusals are logged. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 16) < 0) {
		error_set(error_r, "admin socket %s: bind failed: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	admin.fd = fd;
	return 0;
}

int admin_start(const struct vimap_config *config, const char **error_r)
{
	admin.config = config;
	if (admin_bind(config->admin_socket, error_r) < 0)
		return -1;
	admin.path = xstrdup(config->admin_socket);
	admin.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (admin.stop_fd < 0 || pthread_create(&admin.thread, NULL, admin_main, NULL) != 0) {
		admin_stop();
		return error_set(error_r, "admin thread could not start");
	}
	admin.running = 1;
	if (config->administrators_count == 0)
		log_warning("admin", "no administrators configured: every admin request "
			    "will be refused (key 'administrators')");
	return 0;
}

void admin_stop(void)
{
	uint64_t one = 1;

	if (admin.running) {
		if (write(admin.stop_fd, &one, sizeof(one)) < 0)
			log_error("admin", "write(stop) failed: %s", strerror(errno));
		pthread_join(admin.thread, NULL);
		admin.running = 0;
	}
	if (admin.stop_fd >= 0)
		close(admin.stop_fd);
	if (admin.fd >= 0)
		close(admin.fd);
	if (admin.path != NULL)
		(void)unlink(admin.path);
	free(admin.path);
	admin.path = NULL;
	admin.fd = admin.stop_fd = -1;
}
