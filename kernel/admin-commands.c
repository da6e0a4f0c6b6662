/* The administrator commands of the seed (IMAP SAMPEXEC): ALERT, CP,
 * DELETE, ENROLL, HELP, MODIFY, SHAREFOLDER, SHUTDOWN, START, STATS, TRACE.
 * Each runs on the admin thread (or the console's) and answers with a JSON
 * object; see admin.h. */
#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <pthread.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "admin.h"
#include "admin-reply.h"
#include "alert.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "sources.h"
#include "session.h"
#include "stats.h"
#include "strbuf.h"
#include "trace.h"

extern char **environ;

typedef json_t *admin_cmd_cb(const char *const *args, unsigned argc);

json_t *admin_ok(json_t *data, const char *fmt, ...)
{
	char *text;
	va_list ap;
	json_t *res;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	res = json_pack("{s:b, s:s, s:o}", "ok", 1, "output", text != NULL ? text : "",
			"data", data != NULL ? data : json_object());
	free(text);
	return res;
}

json_t *admin_fail(const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", text);
}

/* A block count: decimal digits only, 1..2^40. */
static int admin_number(const char *s, uint64_t *n_r)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	*n_r = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *n_r > 0 && *n_r < (1ull << 40) ? 0 : -1;
}

static int admin_user(const char *in, char out[65])
{
	return session_canonical_user(in, strlen(in), out);
}

static json_t *admin_enroll(const char *const *args, unsigned argc)
{
	const struct vimap_config *cfg = server.config;
	struct vimap_storage_error err;
	void *state;
	const struct vimap_storage_ops *ops = session_storage(&state);
	uint64_t blocks = cfg->enroll_blocks, group = cfg->enroll_storage_group;
	char user[65];

	if (admin_user(args[0], user) < 0)
		return admin_fail("'%s' is not a valid user id (1-64 of letters, digits, . _ - + @)",
				  args[0]);
	if (strcmp(user, "anyone") == 0)
		return admin_fail("'anyone' is reserved: it names every user in access rights");
	if ((argc > 1 && admin_number(args[1], &blocks) < 0) ||
	    (argc > 2 && (admin_number(args[2], &group) < 0 || group > 32767)))
		return admin_fail("usage: ENROLL userid [blocks [storage_group]] with positive numbers");
	if (ops->enroll(state, user, blocks, (unsigned)group, &err) < 0)
		return admin_fail("enrolling %s failed: %s", user, err.text);
	return admin_ok(json_pack("{s:s, s:I, s:I}", "user", user, "blocks", (json_int_t)blocks,
				  "storage_group", (json_int_t)group),
			"%s enrolled with %llu blocks in storage group %llu", user,
			(unsigned long long)blocks, (unsigned long long)group);
}

static json_t *admin_delete(const char *const *args, unsigned argc)
{
	struct vimap_storage_error err;
	void *state;
	const struct vimap_storage_ops *ops = session_storage(&state);
	char user[65];

	if (admin_user(args[0], user) < 0)
		return admin_fail("'%s' is not a valid user id", args[0]);
	if (ops->unenroll(state, user, &err) < 0)
		return admin_fail("deleting %s failed: %s", user, err.text);
	return admin_ok(json_pack("{s:s}", "user", user),
			"%s deleted: all mail and folders removed", user);
}

static json_t *admin_modify(const char *const *args, unsigned argc)
{
	struct vimap_storage_error err;
	void *state;
	const struct vimap_storage_ops *ops = session_storage(&state);
	uint64_t limit, used, delta, now;
	int force = argc > 2 && strcasecmp(args[2], "FORCE") == 0;
	char user[65];

	if (admin_user(args[0], user) < 0)
		return admin_fail("'%s' is not a valid user id", args[0]);
	if ((args[1][0] != '+' && args[1][0] != '-') || admin_number(args[1] + 1, &delta) < 0 ||
	    (argc > 2 && !force))
		return admin_fail("usage: MODIFY userid +blocks|-blocks [FORCE]");
	if (ops->quota_get(state, user, &limit, &used, &err) < 0)
		return admin_fail("MODIFY %s failed: %s", user, err.text);
	if (args[1][0] == '-' && delta >= limit)
		return admin_fail("MODIFY %s: %s would leave no blocks (the quota is %llu)",
				  user, args[1], (unsigned long long)limit);
	now = args[1][0] == '+' ? limit + delta : limit - delta;
	if (now < used && !force)
		return admin_fail("MODIFY %s: %llu blocks are in use, more than the new quota of "
				  "%llu; add FORCE to set it anyway", user,
				  (unsigned long long)used, (unsigned long long)now);
	if (ops->quota_set(state, user, now, force, &err) < 0)
		return admin_fail("MODIFY %s failed: %s", user, err.text);
	return admin_ok(json_pack("{s:s, s:I, s:I}", "user", user, "blocks", (json_int_t)now,
				  "used", (json_int_t)used),
			"%s may now use %llu blocks (%llu in use)", user,
			(unsigned long long)now, (unsigned long long)used);
}

static void admin_stats_add(const char *name, int64_t value, void *ctx)
{
	json_object_set_new(ctx, name, json_integer(value));
}

static json_t *admin_stats(const char *const *args, unsigned argc)
{
	json_t *data = json_object(), *value;
	int reset = argc == 1 && strcasecmp(args[0], "RESET") == 0;
	struct strbuf text = STRBUF_INIT;
	const char *key;

	if (argc == 1 && !reset) {
		json_decref(data);
		return admin_fail("usage: STATS [RESET]");
	}
	stats_foreach(admin_stats_add, data);
	json_object_set_new(data, "uptime.seconds",
			    json_integer((json_int_t)(time(NULL) - server.started)));
	json_object_foreach(data, key, value)
		strbuf_appendf(&text, "%-32s %lld\n", key, (long long)json_integer_value(value));
	if (reset) {
		stats_reset();
		strbuf_appends(&text, "counters reset");
	}
	value = admin_ok(data, "%s", text.data);
	strbuf_free(&text);
	return value;
}

static json_t *admin_alert(const char *const *args, unsigned argc)
{
	struct strbuf text = STRBUF_INIT;
	json_t *res;
	unsigned i;

	for (i = 0; i < argc; i++) {
		if (i > 0)
			strbuf_appendc(&text, ' ');
		strbuf_appends(&text, args[i]);
	}
	alert_set(text.data);
	res = argc == 0 ? admin_ok(NULL, "alert cleared") :
		admin_ok(json_pack("{s:s}", "alert", text.data), "alert set: %s", text.data);
	strbuf_free(&text);
	return res;
}

static json_t *admin_trace(const char *const *args, unsigned argc)
{
	static const struct { const char *name; unsigned mask; } classes[] = {
		{ "ALL", VIMAP_TRACE_CODEFLOW | VIMAP_TRACE_SOCKLIBCALLS | VIMAP_TRACE_SOCKETIO },
		{ "CODEFLOW", VIMAP_TRACE_CODEFLOW },
		{ "SOCKLIBCALLS", VIMAP_TRACE_SOCKLIBCALLS },
		{ "SOCKETIO", VIMAP_TRACE_SOCKETIO },
	};
	const char *address = NULL;
	unsigned i, mask = 0, next = 1;
	int on = 1;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strcasecmp(args[0], classes[i].name) == 0)
			mask = classes[i].mask;
	}
	if (mask == 0)
		return admin_fail("usage: TRACE ALL|CODEFLOW|SOCKLIBCALLS|SOCKETIO [address] [ON|OFF]");
	if (next < argc && mask == VIMAP_TRACE_SOCKETIO && strcasecmp(args[next], "ON") != 0 &&
	    strcasecmp(args[next], "OFF") != 0)
		address = args[next++];
	if (next < argc) {
		if (strcasecmp(args[next], "OFF") == 0)
			on = 0;
		else if (strcasecmp(args[next], "ON") != 0)
			return admin_fail("TRACE: expected ON or OFF, got '%s'", args[next]);
		next++;
	}
	if (next != argc)
		return admin_fail("usage: TRACE ALL|CODEFLOW|SOCKLIBCALLS|SOCKETIO [address] [ON|OFF]");
	trace_set(mask, on, address);
	return admin_ok(json_pack("{s:i}", "trace", (int)trace_mask()), "tracing of %s %s%s%s",
			args[0], on ? "on" : "off", address != NULL ? " for " : "",
			address != NULL ? address : "");
}

static json_t *admin_shutdown(const char *const *args, unsigned argc)
{
	/* The main thread's sigwait does the orderly shutdown. */
	kill(getpid(), SIGTERM);
	return admin_ok(NULL, "shutting down: clients get BYE, deliveries in flight finish");
}

static json_t *admin_cmd_start(const char *const *args, unsigned argc)
{
	const char *error;
	int added;

	if ((added = sources_add_reader(&error)) < 0)
		return admin_fail("START: %s", error);
	stats_add(STATS_READER_THREADS, added);
	return admin_ok(NULL, "one more reader thread started for %d delivery source%s",
			added, added == 1 ? "" : "s");
}

/* CP runs at most this long and returns at most this much output. */
#define ADMIN_CP_TIMEOUT_MS 60000
#define ADMIN_CP_MAX_OUTPUT 65536

/* Reads the child's output until EOF, the size limit or the deadline. */
static void admin_cp_collect(int fd, pid_t pid, struct strbuf *out, int *timed_out_r)
{
	struct timespec start, now;
	char buf[4096];

	clock_gettime(CLOCK_MONOTONIC, &start);
	*timed_out_r = 0;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long elapsed;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= ADMIN_CP_TIMEOUT_MS || poll(&pfd, 1, (int)(ADMIN_CP_TIMEOUT_MS - elapsed)) == 0) {
			*timed_out_r = 1;
			kill(pid, SIGKILL);
			return;
		}
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		if (out->len < ADMIN_CP_MAX_OUTPUT)
			strbuf_append(out, buf, (size_t)n);
	}
}

/* CP command: the seed passed it unchanged to CP; here to the host's
   shell, only when the configuration allows it (admin_cp: true). */
static json_t *admin_cp(const char *const *args, unsigned argc)
{
	struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
	posix_spawn_file_actions_t fa;
	char *argv[4];
	int pipefd[2], status = 0, timed_out = 0;
	unsigned i;
	pid_t pid;
	json_t *res;

	if (!server.config->admin_cp)
		return admin_fail("CP is disabled: set 'admin_cp: true' in the configuration to allow it");
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strbuf_appendc(&cmd, ' ');
		strbuf_appends(&cmd, args[i]);
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		strbuf_free(&cmd);
		return admin_fail("CP: pipe() failed: %s", strerror(errno));
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = cmd.data;
	argv[3] = NULL;
	if (posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		strbuf_free(&cmd);
		return admin_fail("CP: cannot start /bin/sh");
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	admin_cp_collect(pipefd[0], pid, &out, &timed_out);
	close(pipefd[0]);
	while (out.len > 0 && out.data[out.len - 1] == '\n')
		out.data[--out.len] = '\0';
	(void)waitpid(pid, &status, 0);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (timed_out)
		res = admin_fail("CP: '%s' killed after %d s", cmd.data, ADMIN_CP_TIMEOUT_MS / 1000);
	else if (status != 0)
		res = admin_fail("CP: '%s' exited with %d%s%s", cmd.data, status,
				 out.len > 0 ? ": " : "", out.len > 0 ? out.data : "");
	else
		res = admin_ok(json_pack("{s:i, s:s}", "exit_code", status, "output",
					 out.data != NULL ? out.data : ""),
			       "%s", out.data != NULL ? out.data : "");
	strbuf_free(&cmd);
	strbuf_free(&out);
	return res;
}

static json_t *admin_help(const char *const *args, unsigned argc);
static json_t *admin_execute_one(const char *admin, const char *command,
				 const char *const *args, unsigned argc);

static const struct admin_command {
	const char *name;
	admin_cmd_cb *run;
	unsigned min_args, max_args;
	const char *usage;
} admin_commands[] = {
	{ "ALERT", admin_alert, 0, 64, "ALERT [text]: every client sees the text on its next command; no text clears it" },
	{ "CP", admin_cp, 1, 64, "CP command: run a host command unchanged (needs admin_cp: true)" },
	{ "DELETE", admin_delete, 1, 1, "DELETE userid: un-enrol a user, removing all their mail and folders" },
	{ "ENROLL", admin_enroll, 1, 3, "ENROLL userid [blocks [storage_group]]: enrol a user in the mailstore" },
	{ "GRANT", admin_grant, 3, 4, "GRANT owner folder userid|anyone [rights]: let a user reach the owner's folder (RFC 4314 rights, default lr)" },
	{ "HELP", admin_help, 0, 0, "HELP: this list" },
	{ "MODIFY", admin_modify, 2, 3, "MODIFY userid +/-blocks [FORCE]: change a user's block quota" },
	{ "REVOKE", admin_revoke, 3, 4, "REVOKE owner folder userid|anyone [rights]: take rights back (default all)" },
	{ "SHAREFOLDER", admin_sharefolder, 4, 4, "SHAREFOLDER to_user foldername owning_user foldername: put the owner's folder in to_user's list (needs a GRANT first)" },
	{ "SHUTDOWN", admin_shutdown, 0, 0, "SHUTDOWN: stop the server cleanly" },
	{ "START", admin_cmd_start, 0, 0, "START: one more reader thread for the delivery sources" },
	{ "STATS", admin_stats, 0, 1, "STATS [RESET]: the server's counters, optionally reset" },
	{ "TRACE", admin_trace, 1, 3, "TRACE ALL|CODEFLOW|SOCKLIBCALLS|SOCKETIO [address] [ON|OFF]" },
};

static json_t *admin_help(const char *const *args, unsigned argc)
{
	char text[2048];
	json_t *list = json_array();
	size_t i, len = 0;

	text[0] = '\0';
	for (i = 0; i < sizeof(admin_commands) / sizeof(admin_commands[0]); i++) {
		json_array_append_new(list, json_string(admin_commands[i].name));
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s",
					i > 0 ? "\n" : "", admin_commands[i].usage);
	}
	return admin_ok(json_pack("{s:o}", "commands", list), "%s", text);
}

/* The socket and the console each have a thread: this makes their
   requests one at a time, in order, as the seed served them. */
static pthread_mutex_t admin_serial = PTHREAD_MUTEX_INITIALIZER;

json_t *admin_execute(const char *admin, const char *command,
		      const char *const *args, unsigned argc)
{
	json_t *res;

	pthread_mutex_lock(&admin_serial);
	res = admin_execute_one(admin, command, args, argc);
	pthread_mutex_unlock(&admin_serial);
	return res;
}

static json_t *admin_execute_one(const char *admin, const char *command,
				 const char *const *args, unsigned argc)
{
	size_t i;
	json_t *res;

	for (i = 0; i < sizeof(admin_commands) / sizeof(admin_commands[0]); i++) {
		const struct admin_command *ac = &admin_commands[i];

		if (strcasecmp(ac->name, command) != 0)
			continue;
		if (argc < ac->min_args || argc > ac->max_args)
			return admin_fail("usage: %s", ac->usage);
		res = ac->run(args, argc);
		log_info("admin", "%s by %s: %s", ac->name, admin,
			 json_is_true(json_object_get(res, "ok")) ? "done" :
			 json_string_value(json_object_get(res, "error")));
		return res;
	}
	return admin_fail("unknown command '%.40s': HELP lists the commands", command);
}
