#include "autoconfig.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "error.h"
#include "ioloop.h"
#include "xalloc.h"

#define IOLOOP_MAX_EVENTS 256

struct ioloop_task {
	struct ioloop_task *next;
	ioloop_task_cb *cb;
	void *arg;
};

struct ioloop {
	int epfd;
	struct io wake_io;        /* eventfd: posted tasks and stop */
	atomic_int stopping;
	int64_t now;
	int64_t last_tick;
	ioloop_task_cb *tick_cb;
	void *tick_ctx;

	pthread_mutex_t posted_lock;
	struct ioloop_task *posted;   /* LIFO from other threads; reversed on run */
	int closed;                   /* no more posts accepted */

	struct ioloop_task *deferred; /* this thread only */
	struct ioloop_task **deferred_tail;
};

static int64_t ioloop_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void ioloop_wake_cb(void *ctx, uint32_t events)
{
	struct ioloop *loop = ctx;
	uint64_t n;

	/* Only clears the counter; the posted tasks run after the round. */
	if (read(loop->wake_io.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
}

struct ioloop *ioloop_create(const char **error_r)
{
	struct ioloop *loop = xcalloc(1, sizeof(*loop));
	int efd;

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		error_set(error_r, "epoll_create1() failed: %s", strerror(errno));
		free(loop);
		return NULL;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		error_set(error_r, "eventfd() failed: %s", strerror(errno));
		close(loop->epfd);
		free(loop);
		return NULL;
	}
	pthread_mutex_init(&loop->posted_lock, NULL);
	loop->deferred_tail = &loop->deferred;
	loop->now = ioloop_clock();
	loop->last_tick = loop->now;
	if (ioloop_add(loop, &loop->wake_io, efd, EPOLLIN, ioloop_wake_cb, loop,
		       error_r) < 0) {
		close(efd);
		ioloop_destroy(&loop);
		return NULL;
	}
	return loop;
}

static void ioloop_free_tasks(struct ioloop_task *t)
{
	while (t != NULL) {
		struct ioloop_task *next = t->next;

		free(t);
		t = next;
	}
}

void ioloop_destroy(struct ioloop **loopp)
{
	struct ioloop *loop = *loopp;

	if (loop == NULL)
		return;
	*loopp = NULL;
	if (loop->wake_io.fd >= 0)
		close(loop->wake_io.fd);
	close(loop->epfd);
	ioloop_free_tasks(loop->posted);
	ioloop_free_tasks(loop->deferred);
	pthread_mutex_destroy(&loop->posted_lock);
	free(loop);
}

int ioloop_add(struct ioloop *loop, struct io *io, int fd, uint32_t events,
	       io_cb *cb, void *ctx, const char **error_r)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->ctx = ctx;
	ev.events = events;
	ev.data.ptr = io;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		io->fd = -1;
		return error_set(error_r, "epoll_ctl(ADD, %d) failed: %s", fd,
				 strerror(errno));
	}
	return 0;
}

int ioloop_modify(struct ioloop *loop, struct io *io, uint32_t events)
{
	struct epoll_event ev;

	if (io->fd < 0 || io->events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = io;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -1;
	io->events = events;
	return 0;
}

void ioloop_remove(struct ioloop *loop, struct io *io)
{
	if (io->fd < 0)
		return;
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->fd = -1;
	io->cb = NULL;
}

int ioloop_post(struct ioloop *loop, ioloop_task_cb *cb, void *arg)
{
	struct ioloop_task *t = xmalloc(sizeof(*t));
	uint64_t one = 1;
	int was_empty;

	t->cb = cb;
	t->arg = arg;
	pthread_mutex_lock(&loop->posted_lock);
	if (loop->closed) {
		pthread_mutex_unlock(&loop->posted_lock);
		free(t);
		return -1;
	}
	was_empty = loop->posted == NULL;
	t->next = loop->posted;
	loop->posted = t;
	pthread_mutex_unlock(&loop->posted_lock);
	/* One wake-up per batch: the loop drains the whole list at once. */
	if (was_empty && write(loop->wake_io.fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		return 0;
	return 0;
}

void ioloop_defer(struct ioloop *loop, ioloop_task_cb *cb, void *arg)
{
	struct ioloop_task *t = xmalloc(sizeof(*t));

	t->cb = cb;
	t->arg = arg;
	t->next = NULL;
	*loop->deferred_tail = t;
	loop->deferred_tail = &t->next;
}

void ioloop_set_tick(struct ioloop *loop, ioloop_task_cb *cb, void *ctx)
{
	loop->tick_cb = cb;
	loop->tick_ctx = ctx;
}

static void ioloop_run_posted(struct ioloop *loop)
{
	struct ioloop_task *list, *rev = NULL;

	pthread_mutex_lock(&loop->posted_lock);
	list = loop->posted;
	loop->posted = NULL;
	pthread_mutex_unlock(&loop->posted_lock);
	/* Posted LIFO; run in the order they were posted. */
	while (list != NULL) {
		struct ioloop_task *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev != NULL) {
		struct ioloop_task *next = rev->next;

		rev->cb(rev->arg);
		free(rev);
		rev = next;
	}
}

static void ioloop_run_deferred(struct ioloop *loop)
{
	while (loop->deferred != NULL) {
		struct ioloop_task *t = loop->deferred;

		loop->deferred = t->next;
		if (loop->deferred == NULL)
			loop->deferred_tail = &loop->deferred;
		t->cb(t->arg);
		free(t);
	}
}

static void ioloop_round(struct ioloop *loop)
{
	struct epoll_event events[IOLOOP_MAX_EVENTS];
	int n, i;

	n = epoll_wait(loop->epfd, events, IOLOOP_MAX_EVENTS, 1000);
	loop->now = ioloop_clock();
	for (i = 0; i < n; i++) {
		struct io *io = events[i].data.ptr;

		/* An earlier callback this round may have removed it. */
		if (io->fd >= 0 && io->cb != NULL)
			io->cb(io->ctx, events[i].events);
	}
	ioloop_run_posted(loop);
	ioloop_run_deferred(loop);
	if (loop->tick_cb != NULL && loop->now != loop->last_tick) {
		loop->last_tick = loop->now;
		loop->tick_cb(loop->tick_ctx);
		ioloop_run_deferred(loop);
	}
}

void ioloop_run(struct ioloop *loop)
{
	while (!atomic_load(&loop->stopping))
		ioloop_round(loop);
	/* Tasks posted before the stop still run: they may own memory. */
	pthread_mutex_lock(&loop->posted_lock);
	loop->closed = 1;
	pthread_mutex_unlock(&loop->posted_lock);
	ioloop_run_posted(loop);
	ioloop_run_deferred(loop);
}

void ioloop_stop(struct ioloop *loop)
{
	uint64_t one = 1;

	atomic_store(&loop->stopping, 1);
	if (write(loop->wake_io.fd, &one, sizeof(one)) < 0)
		return;
}

int64_t ioloop_now(struct ioloop *loop)
{
	return loop->now;
}
