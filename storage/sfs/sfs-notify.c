/* sfs: telling the other vimapd processes of a change, and hearing theirs.
 *
 * Every transaction that changes a mailbox runs
 *     SELECT pg_notify('vimap_changes', 'NODE USER MAILBOX')
 * before its COMMIT; PostgreSQL delivers the notification only when (and
 * if) the transaction commits.  NODE is the random id of this plugin
 * instance, so a process ignores its own changes (the kernel already knows
 * of those).
 *
 * The listener is one thread per process with a connection of its own
 * (LISTEN vimap_changes) that waits in poll() and calls
 * host->mailbox_changed(user, mailbox) for every other node's change: the
 * kernel then syncs this process's sessions that have the mailbox
 * selected, so a client IDLE on node B sees an APPEND through node A
 * within a round trip.  When its connection is lost it connects again every
 * second; notifications sent meanwhile are lost (a session then sees the
 * change at its next command, as IMAP without IDLE would). */
#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "error.h"
#include "sfs-private.h"
#include "xalloc.h"

#define SFS_RETRY_MS 1000

struct sfs_listener {
	struct sfs_state *st;
	pthread_t thread;
	int wake[2];                 /* a byte on wake[1] stops the thread */
	PGconn *pg;
	pid_t pid;                   /* the process the thread runs in */
};

int sfs_notify(struct sfs_state *st, struct sfs_conn *c, const char *user,
	       const char *mailbox, struct vimap_storage_error *err)
{
	struct sfs_params p;
	char *payload;
	int ret;

	if (!st->notify)
		return 0;
	payload = xasprintf("%s %s %s", st->node, user, mailbox);
	sfs_p_init(&p);
	sfs_p_text(&p, payload);
	ret = sfs_run(c, SFS_NOTIFY, &p, err);
	free(payload);
	return ret;
}

/* Hands one notification to the host, unless it is our own. */
static void sfs_listener_deliver(struct sfs_listener *l, const char *payload)
{
	const char *user, *mailbox;
	char *copy;

	if (strncmp(payload, l->st->node, strlen(l->st->node)) == 0 &&
	    payload[strlen(l->st->node)] == ' ')
		return;
	if ((user = strchr(payload, ' ')) == NULL)
		return;
	copy = xstrdup(user + 1);
	if ((mailbox = strchr(copy, ' ')) != NULL) {
		copy[mailbox - copy] = '\0';
		l->st->host->mailbox_changed(l->st->ctx, copy, mailbox + 1);
	}
	free(copy);
}

/* Connects and LISTENs; 0 or -1 (logged once per outage by the caller). */
static int sfs_listener_connect(struct sfs_listener *l, struct vimap_storage_error *err)
{
	l->pg = sfs_pool_connect(l->st, err);
	if (l->pg == NULL)
		return -1;
	if (sfs_exec_sql(l->pg, "LISTEN " SFS_CHANNEL, "listen", err) < 0) {
		PQfinish(l->pg);
		l->pg = NULL;
		return -1;
	}
	return 0;
}

/* Reads what the server sent; -1 when the connection is gone. */
static int sfs_listener_read(struct sfs_listener *l)
{
	PGnotify *n;

	if (!PQconsumeInput(l->pg))
		return -1;
	while ((n = PQnotifies(l->pg)) != NULL) {
		sfs_listener_deliver(l, n->extra);
		PQfreemem(n);
	}
	return PQstatus(l->pg) == CONNECTION_OK ? 0 : -1;
}

static void *sfs_listener_run(void *arg)
{
	struct sfs_listener *l = arg;
	struct vimap_storage_error err = { 0, NULL };
	int down_logged = 0;

	for (;;) {
		struct pollfd pfd[2] = { { l->wake[0], POLLIN, 0 }, { -1, POLLIN, 0 } };

		if (l->pg == NULL && sfs_listener_connect(l, &err) < 0) {
			if (!down_logged)
				sfs_log(l->st, VIMAP_LOG_WARNING, "listener: %s (retrying every "
					"second)", err.text);
			down_logged = 1;
		} else if (down_logged) {
			sfs_log(l->st, VIMAP_LOG_INFO, "listener: connected again: every "
				"session syncs (changes made meanwhile were not heard)");
			/* NOTIFYs sent while we were away are lost for good. */
			l->st->host->mailbox_changed(l->st->ctx, NULL, NULL);
			down_logged = 0;
		}
		if (l->pg != NULL)
			pfd[1].fd = PQsocket(l->pg);
		if (poll(pfd, pfd[1].fd >= 0 ? 2 : 1, SFS_RETRY_MS) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents != 0)
			break;
		if (l->pg != NULL && pfd[1].revents != 0 && sfs_listener_read(l) < 0) {
			char line[256];

			sfs_log(l->st, VIMAP_LOG_WARNING, "listener: connection lost: %s",
				sfs_first_line(PQerrorMessage(l->pg), line, sizeof(line)));
			PQfinish(l->pg);
			l->pg = NULL;
			down_logged = 1;
		}
	}
	if (l->pg != NULL)
		PQfinish(l->pg);
	l->pg = NULL;
	return NULL;
}

int sfs_notify_start(struct sfs_state *st, const char **error_r)
{
	struct sfs_listener *l;
	int rc;

	if (!VIMAP_HOST_HAS(st->host, mailbox_changed)) {
		sfs_log(st, VIMAP_LOG_WARNING, "the host has no mailbox_changed(): other "
			"processes' changes are seen at the next command only");
		return 0;
	}
	l = xcalloc(1, sizeof(*l));
	l->st = st;
	l->pid = getpid();
	if (pipe2(l->wake, O_CLOEXEC) < 0) {
		free(l);
		return error_set(error_r, "pipe() failed: %s", strerror(errno));
	}
	if ((rc = pthread_create(&l->thread, NULL, sfs_listener_run, l)) != 0) {
		close(l->wake[0]);
		close(l->wake[1]);
		free(l);
		return error_set(error_r, "pthread_create(listener) failed: %s", strerror(rc));
	}
	st->listener = l;
	return 0;
}

void sfs_notify_stop(struct sfs_state *st)
{
	struct sfs_listener *l = st->listener;
	char byte = 0;

	if (l == NULL)
		return;
	st->listener = NULL;
	if (l->pid != getpid()) {
		/* A fork()ed child: the thread is the parent's. */
		free(l);
		return;
	}
	if (write(l->wake[1], &byte, 1) < 0)
		sfs_log(st, VIMAP_LOG_WARNING, "listener: write(wake) failed: %s",
			strerror(errno));
	pthread_join(l->thread, NULL);
	close(l->wake[0]);
	close(l->wake[1]);
	free(l);
}
