/* The worker pool: a bounded set of threads for everything that may block
 * (storage, password hashing, fsync, database round trips).  I/O threads
 * hand work here and get the result back through ioloop_post(). */
#ifndef VIMAP_WORKERS_H
#define VIMAP_WORKERS_H

struct workers;

typedef void workers_job_cb(void *arg);

/* Starts `threads` workers.  Returns the pool (caller destroys) or NULL. */
struct workers *workers_create(unsigned threads, const char **error_r);
/* Runs the jobs already queued, then joins the threads and frees the pool. */
void workers_destroy(struct workers **pool);

/* Queues `cb(arg)`.  Thread-safe.  Returns 0, or -1 once the pool is
   shutting down (the job is then not run and `arg` stays the caller's). */
int workers_submit(struct workers *pool, workers_job_cb *cb, void *arg);

/* Jobs waiting and running now (for STATS). */
unsigned workers_queued(struct workers *pool);

#endif
