#include "autoconfig.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "error.h"
#include "spool-private.h"

/* Queues every regular file of the directory `fd` whose name does not
   start with '.'; `claimed` says the directory is .work/. */
static void spool_scan(struct spool *s, int fd, int claimed)
{
	struct dirent *de;
	DIR *d;
	int dup_fd = dup(fd);

	if (dup_fd < 0 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		spool_log(s, VIMAP_LOG_ERROR, "opendir(%s%s) failed: %s", s->dir,
			  claimed ? "/" SPOOL_WORK_DIR : "", strerror(errno));
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_REG &&
		    (de->d_type != DT_UNKNOWN ||
		     fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISREG(st.st_mode)))
			continue;
		spool_queue_add(s, de->d_name, claimed);
	}
	closedir(d);
}

/* Reads the pending inotify events; 1 when the queue overflowed (then
   the caller rescans). */
static int spool_read_events(struct spool *s)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	int overflow = 0;
	ssize_t n;

	while ((n = read(s->inotify_fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				overflow = 1;
			else if (ev->len > 0 && ev->name[0] != '.' && !(ev->mask & IN_ISDIR))
				spool_queue_add(s, ev->name, 0);
			p += sizeof(*ev) + ev->len;
		}
	}
	return overflow;
}

static int spool_wait(struct spool *s, long long seconds)
{
	struct pollfd pfd[2];
	int timeout = seconds > 3600 ? 3600 * 1000 : (int)(seconds * 1000);

	pfd[0].fd = s->inotify_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = s->wake_fd;
	pfd[1].events = POLLIN;
	if (timeout < 0)
		timeout = 0;
	if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
		spool_log(s, VIMAP_LOG_ERROR, "poll() failed: %s", strerror(errno));
	return pfd[0].revents & POLLIN;
}

static int spool_is_stopping(struct spool *s)
{
	int stopping;

	pthread_mutex_lock(&s->mutex);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->mutex);
	return stopping;
}

static void *spool_watch_thread(void *arg)
{
	struct spool *s = arg;
	time_t next_scan = time(NULL) + (time_t)s->poll_interval;

	/* Files left in .work/ by a server that died are unfinished: they go
	   first, then whatever arrived while the server was down. */
	spool_scan(s, s->work_fd, 1);
	spool_scan(s, s->dir_fd, 0);
	while (!spool_is_stopping(s)) {
		time_t now = time(NULL);
		long long wait = spool_queue_due(s, (long long)(next_scan - now));

		if (spool_wait(s, wait) && spool_read_events(s))
			spool_scan(s, s->dir_fd, 0);
		if (time(NULL) >= next_scan) {
			spool_scan(s, s->dir_fd, 0);
			next_scan = time(NULL) + (time_t)s->poll_interval;
		}
	}
	return NULL;
}

int spool_watch_start(struct spool *s, const char **error_r)
{
	int err;

	s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->inotify_fd < 0)
		return error_set(error_r, "inotify_init1() failed: %s", strerror(errno));
	/* Watch before the first scan: nothing arriving in between is lost. */
	if (inotify_add_watch(s->inotify_fd, s->dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0)
		return error_set(error_r, "inotify_add_watch(%s) failed: %s", s->dir,
				 strerror(errno));
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0)
		return error_set(error_r, "eventfd() failed: %s", strerror(errno));
	if ((err = pthread_create(&s->watcher, NULL, spool_watch_thread, s)) != 0)
		return error_set(error_r, "pthread_create() failed: %s", strerror(err));
	s->watcher_running = 1;
	return 0;
}

void spool_watch_stop(struct spool *s)
{
	uint64_t one = 1;

	if (s->watcher_running) {
		if (write(s->wake_fd, &one, sizeof(one)) < 0)
			spool_log(s, VIMAP_LOG_ERROR, "write(eventfd) failed: %s",
				  strerror(errno));
		pthread_join(s->watcher, NULL);
		s->watcher_running = 0;
	}
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	s->inotify_fd = s->wake_fd = -1;
}
