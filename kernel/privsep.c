#include "autoconfig.h"
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "auth-proxy.h"
#include "config.h"
#include "error.h"
#include "log.h"
#include "privsep-msg.h"
#include "privsep.h"

/* The monitor waits this long before restarting the auth process, so
   that a dead one is seen (logins answer NO [UNAVAILABLE]) rather than
   raced; doubled, up to the maximum, while it keeps dying young. */
#define PRIVSEP_RESTART_MIN_MS 1000
#define PRIVSEP_RESTART_MAX_MS 30000
/* An auth process that lived this long was not crash-looping. */
#define PRIVSEP_STABLE_MS 10000
/* The first HELLO (the plugin's init: a PAM stack, a key file) may take. */
#define PRIVSEP_HELLO_TIMEOUT_MS 60000
/* At shutdown the monitor gets this long to go. */
#define PRIVSEP_STOP_WAIT_MS 5000

static struct {
	int enabled;
	uid_t uid;
	gid_t gid;
	char *user;              /* for messages */
	pid_t monitor;
} privsep = { 0, 0, 0, NULL, -1 };

int privsep_enabled(void)
{
	return privsep.enabled;
}

static int64_t privsep_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the monitor (root): (re)starts the auth process ---- */

static void privsep_describe_status(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(buf, size, "wait status 0x%x", (unsigned)status);
}

/* Waits for one of `set` up to `ms` (< 0: forever); the signal, or 0. */
static int privsep_wait_signal(const sigset_t *set, int ms)
{
	struct timespec ts;
	int sig;

	if (ms < 0) {
		sig = sigwaitinfo(set, NULL);
		return sig < 0 ? 0 : sig;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	sig = sigtimedwait(set, NULL, &ts);
	return sig < 0 ? 0 : sig;
}

/* SIGTERM (vimapd's death through PR_SET_PDEATHSIG, or an operator):
   ends the auth process and the monitor. */
static void privsep_monitor_exit(pid_t child) __attribute__((noreturn));

static void privsep_monitor_exit(pid_t child)
{
	int i, status;

	if (child > 0) {
		(void)kill(child, SIGTERM);
		for (i = 0; i < 50 && waitpid(child, &status, WNOHANG) == 0; i++)
			usleep(100000);
		(void)kill(child, SIGKILL);
		(void)waitpid(child, &status, 0);
	}
	_exit(0);
}

/* Waits until the auth process `child` ends; its wait status.  SIGTERM
   ends everything. */
static int privsep_monitor_wait(pid_t child, const sigset_t *set)
{
	int status;

	for (;;) {
		int sig = privsep_wait_signal(set, -1);

		if (sig == SIGTERM)
			privsep_monitor_exit(child);
		if (waitpid(child, &status, WNOHANG) == child)
			return status;
	}
}

/* 1 when vimapd closed its end of the channel (it is stopping). */
static int privsep_channel_closed(int fd)
{
	struct pollfd pfd = { fd, 0, 0 };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

/* The delay before a restart, cut short by SIGTERM or by vimapd stopping. */
static void privsep_monitor_delay(int fd, const sigset_t *set, unsigned ms)
{
	unsigned waited;

	for (waited = 0; waited < ms; waited += 100) {
		if (privsep_wait_signal(set, 100) == SIGTERM)
			privsep_monitor_exit(-1);
		if (privsep_channel_closed(fd))
			_exit(0);
	}
}

static void privsep_monitor_main(const struct vimap_config *cfg, int fd)
	__attribute__((noreturn));

static void privsep_monitor_main(const struct vimap_config *cfg, int fd)
{
	unsigned delay = PRIVSEP_RESTART_MIN_MS;
	uint32_t gen = 0;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		int64_t born = privsep_now_ms();
		struct privsep_msg down;
		const char *error;
		char what[64];
		pid_t child;
		int status;

		gen++;
		child = fork();
		if (child == 0)
			privsep_auth_main(cfg, fd, gen);
		if (child < 0) {
			log_error("privsep", "fork() failed: %s", strerror(errno));
			status = 0;
		} else {
			status = privsep_monitor_wait(child, &set);
		}
		/* 0: the auth process saw vimapd close the channel: stop. */
		if (child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			_exit(0);
		privsep_describe_status(status, what, sizeof(what));
		memset(&down, 0, sizeof(down));
		down.hdr.type = PRIVSEP_DOWN;
		down.hdr.gen = gen;
		down.hdr.result = status;
		if (privsep_msg_send(fd, &down, &error) < 0)
			log_error("privsep", "telling vimapd failed: %s", error);
		if (privsep_now_ms() - born >= PRIVSEP_STABLE_MS)
			delay = PRIVSEP_RESTART_MIN_MS;
		if (privsep_channel_closed(fd))
			_exit(0);
		log_error("privsep", "auth process %d %s: restarting it in %u ms", (int)child,
			  what, delay);
		privsep_monitor_delay(fd, &set, delay);
		while (waitpid(-1, &status, WNOHANG) > 0)
			;
		delay = delay * 2 > PRIVSEP_RESTART_MAX_MS ? PRIVSEP_RESTART_MAX_MS : delay * 2;
	}
}

/* In the new monitor: names it, ties its life to vimapd's, runs it. */
static void privsep_monitor_enter(const struct vimap_config *cfg, int fd, pid_t parent)
	__attribute__((noreturn));

static void privsep_monitor_enter(const struct vimap_config *cfg, int fd, pid_t parent)
{
	(void)prctl(PR_SET_NAME, "vimap-authmon", 0, 0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != parent)
		_exit(0);
	privsep_monitor_main(cfg, fd);
}

/* ---- vimapd: start, drop, stop ---- */

static int privsep_lookup(const struct vimap_config *cfg, const char **error_r)
{
	struct passwd *pw;
	struct group *gr;

	errno = 0;
	pw = getpwnam(cfg->user);
	if (pw == NULL)
		return error_set(error_r, "user: no user '%s'%s%s", cfg->user,
				 errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
	if (pw->pw_uid == 0)
		return error_set(error_r, "user: '%s' is root: name an unprivileged user",
				 cfg->user);
	privsep.uid = pw->pw_uid;
	privsep.gid = pw->pw_gid;
	if (cfg->group != NULL) {
		errno = 0;
		gr = getgrnam(cfg->group);
		if (gr == NULL)
			return error_set(error_r, "group: no group '%s'", cfg->group);
		if (gr->gr_gid == 0)
			return error_set(error_r, "group: '%s' is root's group", cfg->group);
		privsep.gid = gr->gr_gid;
	}
	return 0;
}

/* The capabilities binding needs, in the effective set of this thread
   (threads created later inherit them); the permitted set stays. */
static int privsep_keep_bind_caps(const char **error_r)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	uint32_t want = (1u << CAP_NET_BIND_SERVICE) | (1u << CAP_DAC_OVERRIDE) |
		(1u << CAP_DAC_READ_SEARCH);

	if (syscall(SYS_capget, &hdr, data) < 0)
		return error_set(error_r, "capget() failed: %s", strerror(errno));
	data[0].effective = want & data[0].permitted;
	data[1].effective = 0;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return error_set(error_r, "capset() failed: %s", strerror(errno));
	return 0;
}

/* Effective ids of the user (saved ids stay root until privsep_drop). */
static int privsep_become_user_effectively(const char **error_r)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_set(error_r, "prctl(PR_SET_NO_NEW_PRIVS) failed: %s",
				 strerror(errno));
	if (setgroups(1, &privsep.gid) < 0 || setresgid((gid_t)-1, privsep.gid, (gid_t)-1) < 0 ||
	    setresuid((uid_t)-1, privsep.uid, (uid_t)-1) < 0)
		return error_set(error_r, "switching to user %s failed: %s", privsep.user,
				 strerror(errno));
	return privsep_keep_bind_caps(error_r);
}

int privsep_start(const struct vimap_config *cfg, const char **error_r)
{
	pid_t self = getpid();
	int sv[2], size = (int)(2 * PRIVSEP_MSG_MAX);

	if (cfg->user == NULL)
		return 0;
	if (geteuid() != 0) {
		log_warning("privsep", "user: '%s' ignored: vimapd was not started as root, "
			    "so there is no privilege to separate", cfg->user);
		return 0;
	}
	if (privsep_lookup(cfg, error_r) < 0)
		return -1;
	privsep.user = cfg->user;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return error_set(error_r, "socketpair() failed: %s", strerror(errno));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	privsep.monitor = fork();
	if (privsep.monitor < 0) {
		close(sv[0]);
		close(sv[1]);
		return error_set(error_r, "fork() failed: %s", strerror(errno));
	}
	if (privsep.monitor == 0) {
		close(sv[0]);
		privsep_monitor_enter(cfg, sv[1], self);
	}
	close(sv[1]);
	privsep.enabled = 1;
	/* The proxy owns sv[0] from here, also on failure. */
	if (auth_proxy_start(sv[0], cfg->authenticate, PRIVSEP_HELLO_TIMEOUT_MS, error_r) < 0 ||
	    privsep_become_user_effectively(error_r) < 0)
		return -1;
	log_info("privsep", "auth plugin %s runs in the auth process; vimapd runs as %s "
		 "(uid %u, gid %u) once its ports are bound", cfg->authenticate, cfg->user,
		 (unsigned)privsep.uid, (unsigned)privsep.gid);
	return 1;
}

/* 0 when no capability is left in this thread. */
static int privsep_check_no_caps(const char **error_r)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return error_set(error_r, "capget() failed: %s", strerror(errno));
	if (data[0].permitted != 0 || data[1].permitted != 0 ||
	    data[0].effective != 0 || data[1].effective != 0)
		return error_set(error_r, "capabilities left after dropping privileges");
	return 0;
}

int privsep_drop(const struct vimap_config *cfg, const char **error_r)
{
	if (!privsep.enabled)
		return 0;
	/* Back to root effectively (the saved uid allows it) for the
	   privilege to change the real and saved ids; glibc applies each
	   call to every thread. */
	if (setresuid((uid_t)-1, 0, (uid_t)-1) < 0 || setgroups(1, &privsep.gid) < 0 ||
	    setresgid(privsep.gid, privsep.gid, privsep.gid) < 0 ||
	    setresuid(privsep.uid, privsep.uid, privsep.uid) < 0)
		return error_set(error_r, "dropping privileges to %s failed: %s", privsep.user,
				 strerror(errno));
	if (setuid(0) == 0 || seteuid(0) == 0)
		return error_set(error_r, "dropping privileges to %s failed: root came back",
				 privsep.user);
	if (getuid() != privsep.uid || geteuid() != privsep.uid ||
	    getgid() != privsep.gid || getegid() != privsep.gid)
		return error_set(error_r, "dropping privileges to %s failed: ids not changed",
				 privsep.user);
	if (privsep_check_no_caps(error_r) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	/* Only a directory filepool (localfs) can be checked here; sfs's is a
	   connection string, which may hold a password: never logged. */
	if (cfg->filepoolid[0] == '/' && access(cfg->filepoolid, R_OK | W_OK | X_OK) < 0)
		return error_set(error_r, "filepool %s is not writable by user %s: %s "
				 "(chown -R %s %s)", cfg->filepoolid, privsep.user,
				 strerror(errno), privsep.user, cfg->filepoolid);
	log_info("privsep", "running as user %s (uid %u, gid %u); the auth process keeps "
		 "root", privsep.user, (unsigned)privsep.uid, (unsigned)privsep.gid);
	return 0;
}

void privsep_stop(void)
{
	int status, i;

	if (!privsep.enabled)
		return;
	privsep.enabled = 0;
	/* Closing the channel ends the auth process; then the monitor. */
	auth_proxy_stop();
	for (i = 0; i < PRIVSEP_STOP_WAIT_MS / 50; i++) {
		pid_t pid = waitpid(privsep.monitor, &status, WNOHANG);

		if (pid == privsep.monitor || (pid < 0 && errno != EINTR))
			break;
		usleep(50000);
	}
	if (i == PRIVSEP_STOP_WAIT_MS / 50)
		log_warning("privsep", "the auth monitor %d did not exit", (int)privsep.monitor);
	privsep.monitor = -1;
}
