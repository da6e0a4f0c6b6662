/* The event loop: one per I/O thread, epoll-based (after Redis's ae.c).
 * Every connection of a thread is served by that thread's loop; nothing on
 * a loop may block.  Other threads talk to a loop only through
 * ioloop_post() and ioloop_stop(). */
#ifndef VIMAP_IOLOOP_H
#define VIMAP_IOLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct ioloop;

/* Called with the epoll events that fired. */
typedef void io_cb(void *ctx, uint32_t events);
/* A function run on a loop's thread. */
typedef void ioloop_task_cb(void *arg);

/* One watched descriptor.  The owner embeds it in its own struct, keeps it
   alive while it is added, and removes it before closing the descriptor. */
struct io {
	int fd;
	uint32_t events;
	io_cb *cb;
	void *ctx;
};

/* Returns a new loop (caller destroys), or NULL with *error_r set. */
struct ioloop *ioloop_create(const char **error_r);
void ioloop_destroy(struct ioloop **loop);

/* Starts watching io->fd for `events` (EPOLLIN, EPOLLOUT, ...). */
int ioloop_add(struct ioloop *loop, struct io *io, int fd, uint32_t events,
	       io_cb *cb, void *ctx, const char **error_r);
/* Changes the watched events; a no-op when they are unchanged. */
int ioloop_modify(struct ioloop *loop, struct io *io, uint32_t events);
/* Stops watching; safe to call on an io that was never added (fd < 0). */
void ioloop_remove(struct ioloop *loop, struct io *io);

/* Runs `cb(arg)` on the loop's thread soon.  Thread-safe.  Returns 0, or
   -1 when the loop has stopped (cb is then not run). */
int ioloop_post(struct ioloop *loop, ioloop_task_cb *cb, void *arg);
/* Runs `cb(arg)` on this loop's thread after the events of the current
   round are handled: the place to free objects an event may still name.
   Only from the loop's own thread. */
void ioloop_defer(struct ioloop *loop, ioloop_task_cb *cb, void *arg);
/* Calls `cb(ctx)` about once a second from the loop (timeouts). */
void ioloop_set_tick(struct ioloop *loop, ioloop_task_cb *cb, void *ctx);

/* Runs until ioloop_stop(). */
void ioloop_run(struct ioloop *loop);
/* Makes ioloop_run return after the current round.  Thread-safe. */
void ioloop_stop(struct ioloop *loop);

/* Monotonic seconds, cached per round: cheap to call from callbacks. */
int64_t ioloop_now(struct ioloop *loop);

#endif
