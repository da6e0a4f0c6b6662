/* The LMTP listening socket and its accept thread.  Each connection runs
 * in its own thread (lmtp_session_run); finished threads are joined by the
 * accept thread as it goes and by stop at the end, so no thread of ours
 * runs once stop returns and the plugin may be unloaded. */
#include "autoconfig.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "error.h"
#include "lmtp-private.h"
#include "xalloc.h"

#define LMTP_BACKLOG 128
#define LMTP_REAP_MS 1000

struct lmtp_thread {
	struct lmtp_thread *next;
	struct lmtp_server *srv;
	pthread_t tid;
	int fd;
	int done;                    /* the session ended; join it */
	char peer[80];
};

static int lmtp_listen_unix(struct lmtp_server *srv, const char *path, const char **error_r)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(error_r, "listen %s: path too long", srv->set.listen);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	/* A socket left by an earlier run is replaced; anything else is not
	   ours to remove. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(error_r, "socket() failed: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, srv->set.socket_mode) < 0 || listen(fd, LMTP_BACKLOG) < 0) {
		error_set(error_r, "listen %s failed: %s", srv->set.listen, strerror(errno));
		close(fd);
		return -1;
	}
	srv->listen_fd = fd;
	return 0;
}

/* Splits "host:port" / "[v6]:port" into host (may be empty: any) and port. */
static int lmtp_split_hostport(const char *addr, char *host, size_t host_size,
			       const char **port_r)
{
	const char *colon;
	size_t len;

	if (addr[0] == '[') {
		const char *close_br = strchr(addr, ']');

		if (close_br == NULL || close_br[1] != ':')
			return -1;
		len = (size_t)(close_br - addr - 1);
		addr++;
		colon = close_br + 1;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return -1;
		len = (size_t)(colon - addr);
	}
	if (len >= host_size || colon[1] == '\0')
		return -1;
	memcpy(host, addr, len);
	host[len] = '\0';
	*port_r = colon + 1;
	return 0;
}

static int lmtp_listen_inet(struct lmtp_server *srv, const char **error_r)
{
	struct addrinfo hints, *ai;
	char host[256];
	const char *port;
	int fd, on = 1, ret;

	if (lmtp_split_hostport(srv->set.listen, host, sizeof(host), &port) < 0)
		return error_set(error_r, "listen '%s': not host:port, [v6]:port or unix:/path",
				 srv->set.listen);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	ret = getaddrinfo(host[0] == '\0' || strcmp(host, "*") == 0 ? NULL : host, port,
			  &hints, &ai);
	if (ret != 0)
		return error_set(error_r, "listen %s: %s", srv->set.listen, gai_strerror(ret));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return error_set(error_r, "socket() failed: %s", strerror(errno));
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LMTP_BACKLOG) < 0) {
		error_set(error_r, "listen %s failed: %s", srv->set.listen, strerror(errno));
		freeaddrinfo(ai);
		close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	srv->listen_fd = fd;
	return 0;
}

int lmtp_listen_open(struct lmtp_server *srv, const char **error_r)
{
	if (strncmp(srv->set.listen, "unix:", 5) == 0)
		return lmtp_listen_unix(srv, srv->set.listen + 5, error_r);
	return lmtp_listen_inet(srv, error_r);
}

static void *lmtp_thread_main(void *arg)
{
	struct lmtp_thread *t = arg;
	struct lmtp_server *srv = t->srv;

	lmtp_session_run(srv, t->fd, t->peer);
	pthread_mutex_lock(&srv->lock);
	t->done = 1;
	srv->active--;
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* Joins and frees the threads whose sessions ended; with `all`, every
   thread (waiting for the running ones). */
static void lmtp_reap(struct lmtp_server *srv, int all)
{
	struct lmtp_thread **tp, *t, *finished = NULL;

	pthread_mutex_lock(&srv->lock);
	for (tp = &srv->threads; (t = *tp) != NULL;) {
		if (t->done || all) {
			*tp = t->next;
			t->next = finished;
			finished = t;
		} else {
			tp = &t->next;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	while ((t = finished) != NULL) {
		finished = t->next;
		pthread_join(t->tid, NULL);
		free(t);
	}
}

static void lmtp_peer_name(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, size, "unix");
	}
}

/* Starts a session thread for accepted `fd`, or refuses it with 421. */
static void lmtp_spawn(struct lmtp_server *srv, int fd, const struct sockaddr_storage *ss)
{
	static const char busy[] = "421 4.3.2 Too many connections, try later\r\n";
	struct lmtp_thread *t = xcalloc(1, sizeof(*t));
	int ret;

	t->srv = srv;
	t->fd = fd;
	lmtp_peer_name(ss, t->peer, sizeof(t->peer));
	pthread_mutex_lock(&srv->lock);
	if (srv->active >= srv->set.max_sessions) {
		pthread_mutex_unlock(&srv->lock);
		lmtp_log(srv, VIMAP_LOG_WARNING, "%s: refused: max_sessions (%u) reached",
			 t->peer, srv->set.max_sessions);
		(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		free(t);
		return;
	}
	ret = pthread_create(&t->tid, NULL, lmtp_thread_main, t);
	if (ret == 0) {
		t->next = srv->threads;
		srv->threads = t;
		srv->active++;
	}
	pthread_mutex_unlock(&srv->lock);
	if (ret != 0) {
		lmtp_log(srv, VIMAP_LOG_ERROR, "pthread_create() failed: %s", strerror(ret));
		close(fd);
		free(t);
		return;
	}
	lmtp_count(srv, LMTP_COUNTER_CONNECTIONS);
}

static void *lmtp_accept_main(void *arg)
{
	struct lmtp_server *srv = arg;

	for (;;) {
		struct pollfd pfd[2] = { { srv->listen_fd, POLLIN, 0 }, { srv->stop_fd, POLLIN, 0 } };
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		int fd;

		if (poll(pfd, 2, LMTP_REAP_MS) < 0 && errno != EINTR) {
			lmtp_log(srv, VIMAP_LOG_ERROR, "poll() failed: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		lmtp_reap(srv, 0);
		if (pfd[0].revents == 0)
			continue;
		fd = accept4(srv->listen_fd, (struct sockaddr *)&ss, &sslen, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				lmtp_log(srv, VIMAP_LOG_WARNING, "accept() failed: %s",
					 strerror(errno));
			/* EMFILE and the like: do not spin. */
			if (errno == EMFILE || errno == ENFILE)
				(void)poll(NULL, 0, 100);
			continue;
		}
		lmtp_spawn(srv, fd, &ss);
	}
	return NULL;
}

int lmtp_listen_start(struct lmtp_server *srv, const char **error_r)
{
	int ret = pthread_create(&srv->accept_thread, NULL, lmtp_accept_main, srv);

	if (ret != 0)
		return error_set(error_r, "pthread_create() failed: %s", strerror(ret));
	return 0;
}

void lmtp_listen_stop(struct lmtp_server *srv)
{
	uint64_t one = 1;

	/* The eventfd stays readable: every session waiting for a command
	   sees it and says 421; one in DATA finishes its message first. */
	if (write(srv->stop_fd, &one, sizeof(one)) != sizeof(one))
		lmtp_log(srv, VIMAP_LOG_ERROR, "write(eventfd) failed: %s", strerror(errno));
	pthread_join(srv->accept_thread, NULL);
	close(srv->listen_fd);
	srv->listen_fd = -1;
	if (strncmp(srv->set.listen, "unix:", 5) == 0)
		(void)unlink(srv->set.listen + 5);
	lmtp_reap(srv, 1);
}
