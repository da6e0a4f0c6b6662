/* auth plugin `checkpassword`: asks an external program, for sites that do
 * not write C.  The protocol is checkpassword's (qmail, Dovecot): the
 * program reads "user\0password\0timestamp\0" from descriptor 3 and exits
 *   0    the password is right
 *   1    wrong password or no such user
 *   111  a temporary failure (the back end is down)
 * (any other status, a signal or the timeout counts as a failure to
 * decide).  As the protocol wants, the program gets a command to run on
 * success as its arguments: vimap passes "true".  Standard input and output
 * are /dev/null; standard error is vimapd's (its log).
 *
 * Configuration (plugins: checkpassword:):
 *   program   the program's path (required)
 *   timeout   seconds before the program is killed (default 10) */
#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vimap/auth.h>
#include "strbuf.h"
#include "xalloc.h"

extern char **environ;

#define CHECKPASSWORD_MAX_INPUT 512

struct cpw_state {
	struct vimap_plugin_ctx *ctx;
	const struct vimap_host *host;
	char *program;
	long long timeout_ms;
};

static const char *const cpw_keys[] = { "program", "timeout", NULL };

static int cpw_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
		    void **state_r, const char **error_r)
{
	struct cpw_state *st;
	const char *program;
	long long timeout;

	if (host->config_check_keys(ctx, cpw_keys, error_r) < 0 ||
	    host->config_string(ctx, "program", NULL, &program, error_r) < 0 ||
	    host->config_int(ctx, "timeout", 10, 1, 3600, &timeout, error_r) < 0)
		return -1;
	if (program == NULL || program[0] != '/') {
		*error_r = "plugins.checkpassword.program: expected the program's absolute path";
		return -1;
	}
	if (access(program, X_OK) < 0) {
		*error_r = "plugins.checkpassword.program: not an executable file";
		return -1;
	}
	st = xcalloc(1, sizeof(*st));
	st->ctx = ctx;
	st->host = host;
	st->program = xstrdup(program);
	st->timeout_ms = timeout * 1000;
	host->log(ctx, VIMAP_LOG_INFO, "checking passwords with %s", program);
	*state_r = st;
	return 0;
}

static void cpw_deinit(void *state)
{
	struct cpw_state *st = state;

	free(st->program);
	free(st);
}

static long long cpw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `pid` until the deadline, then kills it.  The exit status, or
   -1 when it had to be killed or ended by a signal. */
static int cpw_wait(pid_t pid, long long timeout_ms)
{
	long long deadline = cpw_now_ms() + timeout_ms;
	struct timespec nap = { 0, 1000000 };
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 || (r < 0 && errno == EINTR)) {
		if (r == 0 && cpw_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -2;
		}
		nanosleep(&nap, NULL);
		/* 1 ms, growing to 20 ms: quick answers stay quick. */
		if (nap.tv_nsec < 20000000)
			nap.tv_nsec += 1000000;
	}
	if (r < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Starts the program with the pipe's read end as descriptor 3. */
static int cpw_spawn(struct cpw_state *st, int fd3, pid_t *pid_r)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char *argv[] = { st->program, (char *)"true", NULL };
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	/* The worker's blocked signals and vimapd's handlers are not the
	   program's business. */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid_r, st->program, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static enum vimap_auth_result cpw_verify(void *state, const char *user,
					 const char *password, const char **reason_r)
{
	struct cpw_state *st = state;
	struct strbuf in = STRBUF_INIT;
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	strbuf_appends(&in, user);
	strbuf_appendc(&in, '\0');
	strbuf_appends(&in, password);
	strbuf_appendc(&in, '\0');
	strbuf_appendf(&in, "%lld", (long long)time(NULL));
	strbuf_appendc(&in, '\0');
	if (in.len > CHECKPASSWORD_MAX_INPUT) {
		memset(in.data, 0, in.len);
		strbuf_free(&in);
		*reason_r = "user id and password too long for checkpassword";
		return VIMAP_AUTH_DENIED;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		strbuf_free(&in);
		*reason_r = "pipe() failed";
		return VIMAP_AUTH_FAILED;
	}
	if (cpw_spawn(st, pipefd[0], &pid) != 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		memset(in.data, 0, in.len);
		strbuf_free(&in);
		*reason_r = "the checkpassword program could not be started";
		return VIMAP_AUTH_FAILED;
	}
	close(pipefd[0]);
	/* At most 512 bytes: within PIPE_BUF, written whole without blocking. */
	n = write(pipefd[1], in.data, in.len);
	close(pipefd[1]);
	memset(in.data, 0, in.len);
	strbuf_free(&in);
	status = cpw_wait(pid, st->timeout_ms);
	if (n < 0 && status == 0)
		status = -1;
	switch (status) {
	case 0:
		return VIMAP_AUTH_OK;
	case 1:
		*reason_r = "refused by the checkpassword program";
		return VIMAP_AUTH_DENIED;
	case 111:
		*reason_r = "the checkpassword program reports a temporary failure (111)";
		return VIMAP_AUTH_FAILED;
	case -2:
		*reason_r = "the checkpassword program timed out and was killed";
		return VIMAP_AUTH_FAILED;
	default:
		*reason_r = "the checkpassword program failed (signal or unexpected status)";
		return VIMAP_AUTH_FAILED;
	}
}

static const struct vimap_auth_ops cpw_ops = {
	.size = sizeof(struct vimap_auth_ops),
	.init = cpw_init,
	.deinit = cpw_deinit,
	.verify = cpw_verify,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_AUTH, "checkpassword", PACKAGE_VERSION, &cpw_ops);
