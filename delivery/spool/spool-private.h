/* The reader spool (delivery plugin `spool`), shared between its files:
 * spool.c (plugin ops, configuration, reader threads), spool-queue.c (the
 * work queue), spool-watch.c (inotify and rescans), spool-file.c (one file
 * from claim to disposition), spool-move.c (bad-file and pass-through
 * moves).  docs/delivery-spool.md describes it for administrators.
 *
 * A file's life: it appears in the spool directory (names starting with
 * '.' are writes in progress and are ignored), is queued, then claimed by
 * one reader with an atomic rename into the `.work/` subdirectory (so two
 * readers never take the same file, and a restart finds every unfinished
 * file there), and leaves `.work/` only by being delivered (unlinked after
 * host->deliver said OK), moved to the bad-file directory with a `.reason`
 * file, or moved unchanged to the pass-through directory. */
#ifndef VIMAP_SPOOL_PRIVATE_H
#define VIMAP_SPOOL_PRIVATE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <vimap/delivery.h>
#include "strbuf.h"

#define SPOOL_WORK_DIR ".work"
#define SPOOL_LOCK_FILE ".lock"
#define SPOOL_HASH_SIZE 4096
#define SPOOL_REASON_MAX 512
/* The largest spool file read (bytes): a NETDATA file is about 1.1 times
   its message, and the store takes 64 MB messages by default.  A larger
   file goes to the bad files instead of growing the heap without bound. */
#define SPOOL_MAX_FILE (128u << 20)

/* One file the spool knows of: queued, being read, or waiting to retry. */
struct spool_item {
	char *name;
	int claimed;                 /* 1 once it is in .work/ */
	time_t retry_at;             /* when waiting to retry */
	unsigned failures;           /* temporary failures so far */
	long long delay;             /* seconds to wait before the next try */
	struct spool_item *next;     /* queue or retry list */
	struct spool_item *hnext;    /* hash chain */
};

struct spool {
	struct vimap_plugin_ctx *ctx;
	const struct vimap_host *host;

	/* configuration */
	char *dir;                   /* the spool directory */
	char *passthrough;           /* NULL: unenrolled recipients are bad files */
	char *bad_dir;               /* BADFILEID */
	char **origins;              /* MAILORIGINID, as configured */
	unsigned origin_count;
	long long poll_interval;     /* seconds between rescans */
	long long retry_interval;    /* first wait after a temporary failure */
	long long retry_max;         /* longest wait */
	unsigned char to_ascii[256];
	const char *table_name;

	/* open directories (-1 when not open) */
	int dir_fd, work_fd, bad_fd, pass_fd, lock_fd;

	unsigned c_delivered, c_passed, c_bad, c_tempfail;

	/* the queue, under `mutex` */
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	struct spool_item *head, *tail;
	struct spool_item *retry;
	struct spool_item *hash[SPOOL_HASH_SIZE];
	int stopping;

	/* threads */
	pthread_t *readers;
	unsigned reader_count, reader_cap;
	pthread_t watcher;
	int watcher_running;
	int inotify_fd, wake_fd;
	int started;
};

#define spool_log(s, level, ...) (s)->host->log((s)->ctx, (level), __VA_ARGS__)

/* ---- spool-queue.c: all take the mutex themselves ---- */

/* Queues `name` (copied) unless the spool already knows it.  `claimed`:
   the file is already in .work/ (found there at start-up). */
void spool_queue_add(struct spool *s, const char *name, int claimed);
/* The next item, blocking; NULL once the spool is stopping.  The item
   stays known (not queued again) until spool_queue_done or _retry. */
struct spool_item *spool_queue_take(struct spool *s);
/* Forgets and frees an item the caller took. */
void spool_queue_done(struct spool *s, struct spool_item *item);
/* Puts a taken item on the retry list for `delay` seconds. */
void spool_queue_retry(struct spool *s, struct spool_item *item, long long delay);
/* Moves due retries to the queue; returns the seconds until the next one
   (or `max_wait` when none is sooner). */
long long spool_queue_due(struct spool *s, long long max_wait);
/* Frees every item (after the threads are gone). */
void spool_queue_clear(struct spool *s);
/* Marks the spool stopping and wakes every reader. */
void spool_queue_stop(struct spool *s);

/* ---- spool-watch.c ---- */

/* Starts the watcher thread: inotify on the spool directory, then a scan
   of .work/ and of the directory, then rescans every poll_interval.  0 or
   -1 with an error. */
int spool_watch_start(struct spool *s, const char **error_r);
/* Stops and joins the watcher. */
void spool_watch_stop(struct spool *s);

/* ---- spool-read.c ---- */

#define SPOOL_ID_MAX 256

/* What reading one file produced. */
struct spool_msg {
	struct spool *s;
	char recipient[SPOOL_ID_MAX], origin[SPOOL_ID_MAX];
	int have_recipient, have_origin;
	int notification;            /* an INMR07: not mail */
	unsigned recfm;              /* INMRECFM of the data being read */
	unsigned long records;       /* data records (or lines) written */
	int out_fd;                  /* the translated message, CRLF lines */
	struct strbuf out;           /* not yet written to out_fd */
	uint64_t length;             /* bytes written to out_fd */
	int io_error;                /* writing out_fd failed: try later */
	char reason[SPOOL_REASON_MAX];
};

/* An anonymous file (O_TMPFILE, or created and unlinked) in the spool's
   file system; -1 with errno. */
int spool_tmpfile(struct spool *s);
/* Reads a spool file (NETDATA, or an envelope and a plain message) from
   map[0..len) into m (zeroed, with m->s and m->out_fd set): the message
   with CRLF lines goes to m->out_fd, recipient and origin into m.  0, or
   -1 with m->reason (broken file; or m->io_error: try later). */
int spool_msg_read(struct spool_msg *m, const unsigned char *map, size_t len);

/* ---- spool-file.c ---- */

/* Takes one item from claim to disposition; logs one line naming the file
   for the decision; then either frees the item (spool_queue_done) or puts
   it on the retry list.  Never fails: every outcome is a disposition. */
void spool_file_process(struct spool *s, struct spool_item *item);

/* ---- spool-move.c ---- */

/* Moves .work/NAME into the bad-file directory with NAME.reason holding
   `reason`; 0, or -1 with an error (the file then stays in .work/).  The
   final name (NAME, or NAME.1 ... when taken) goes to dest_r. */
int spool_move_bad(struct spool *s, const char *name, const char *reason,
		   char *dest_r, size_t dest_size, const char **error_r);
/* Moves .work/NAME unchanged into PASSTHROUGH/user/ (created when
   missing); `user` is a canonical user id.  0 or -1 with an error. */
int spool_move_passthrough(struct spool *s, const char *name, const char *user,
			   char *dest_r, size_t dest_size, const char **error_r);
/* fsync()s a directory; 0 or -1 with an error. */
int spool_fsync_dir(int fd, const char *what, const char **error_r);
/* mkdir -p `path` (mode 0750); 0 or -1 with an error. */
int spool_mkdirs(const char *path, const char **error_r);

#endif
