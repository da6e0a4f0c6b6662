/* vimap: the administrator's command (the seed's IMAP SAMPEXEC, renamed).
 *
 *   vimap [options] COMMAND [ARGS...]   sends COMMAND to the running vimapd
 *                                       over its admin socket
 *   vimap passwd USER                   writes USER's password hash into the
 *                                       cp user directory file
 *
 * Human-readable output by default, --json for scripts; exit status 0 only
 * on success. */
#include "autoconfig.h"
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"
#include "convert-config.h"
#include "upgrade-store.h"
#include "passwd-file.h"

struct vimap_opts {
	const char *config_path;
	const char *server_name;
	const char *socket_path;
	const char *users_file;
	int json;
	int yes;
};

static void vimap_usage(FILE *out)
{
	fprintf(out,
		"usage: vimap [--config FILE] [--name NAME] [--socket PATH] [--json] [--yes]\n"
		"             COMMAND [ARGS...]\n"
		"       vimap [--config FILE] [--file USERS] passwd USER\n"
		"       vimap convert-config [--force] [SEEDFILE [OUTFILE]]\n"
		"       vimap [--config FILE] upgrade-store     (with vimapd stopped)\n"
		"Commands (HELP lists them with their arguments):\n"
		"  ENROLL userid [blocks [storage_group]]   ENROLL --from FILE\n"
		"  DELETE userid\n"
		"  MODIFY userid +/-blocks [FORCE]          ALERT [text]\n"
		"  GRANT owner folder userid|anyone [rights]   REVOKE owner folder userid|anyone [rights]\n"
		"  SHAREFOLDER to_user foldername owning_user foldername\n"
		"  STATS [RESET]    TRACE class [address] [ON|OFF]    START    SHUTDOWN    HELP\n");
}

static int vimap_parse(int argc, char **argv, struct vimap_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	/* "+": options end at the command, so "ALERT -x" reaches the server. */
	while ((opt = getopt_long(argc, argv, "+c:n:s:f:jyh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->config_path = optarg; break;
		case 'n': o->server_name = optarg; break;
		case 's': o->socket_path = optarg; break;
		case 'f': o->users_file = optarg; break;
		case 'j': o->json = 1; break;
		case 'y': o->yes = 1; break;
		case 'h': vimap_usage(stdout); exit(0);
		default: vimap_usage(stderr); return -1;
		}
	}
	if (optind >= argc) {
		vimap_usage(stderr);
		return -1;
	}
	return optind;
}

/* Loads the configuration (for the socket path or the users file). */
static struct vimap_config *vimap_config(const struct vimap_opts *o)
{
	struct vimap_config *cfg;
	const char *error;
	char *path;

	if (config_find(SYSCONFDIR "/vimap", o->server_name, o->config_path, &path, &error) < 0 ||
	    config_load(path, &cfg, &error) < 0) {
		fprintf(stderr, "vimap: %s\n", error);
		return NULL;
	}
	free(path);
	return cfg;
}

static int vimap_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "vimap: cannot reach vimapd at %s: %s (is it running?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Sends one request line, reads the one-line answer. */
static json_t *vimap_request(int fd, const char *command, char **args, int argc)
{
	json_t *req = json_pack("{s:s, s:[]}", "command", command, "args"), *res;
	json_error_t jerr;
	char *line, buf[65536];
	size_t len = 0;
	int i;

	for (i = 0; i < argc; i++)
		json_array_append_new(json_object_get(req, "args"), json_string(args[i]));
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (line == NULL)
		return NULL;
	/* A refusing server answers and hangs up without reading: the write
	   may fail, and the answer is still there to read. */
	if (write(fd, line, strlen(line)) >= 0)
		(void)!write(fd, "\n", 1);
	free(line);
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL || len == sizeof(buf) - 1)
			break;
	}
	res = json_loadb(buf, len, 0, &jerr);
	return res;
}

/* DELETE removes all of a user's mail: a person at a terminal confirms. */
static int vimap_confirm_delete(const struct vimap_opts *o, int argc, char **argv)
{
	char answer[16];

	if (strcasecmp(argv[0], "DELETE") != 0 || o->yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "vimap: DELETE removes all of the user's mail and folders: "
			"add --yes to confirm\n");
		return -1;
	}
	fprintf(stderr, "Delete %s and all their mail and folders? [y/N] ",
		argc > 1 ? argv[1] : "(nobody)");
	if (fgets(answer, sizeof(answer), stdin) == NULL ||
	    (answer[0] != 'y' && answer[0] != 'Y')) {
		fprintf(stderr, "vimap: not deleted\n");
		return -1;
	}
	return 0;
}

/* Runs one request on a fresh connection; the answer, or NULL. */
static json_t *vimap_call(const char *path, const char *command, char **args, int argc)
{
	json_t *res;
	int fd = vimap_connect(path);

	if (fd < 0)
		return NULL;
	res = vimap_request(fd, command, args, argc);
	close(fd);
	return res;
}

/* `vimap ENROLL --from FILE`: one user a line ("userid [blocks [group]]",
   '#' comments), each a request of its own so client service never waits
   behind the whole batch; progress on a terminal, failures summed up. */
static int vimap_bulk_enroll(const char *path, const char *file)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char *line = NULL, *words[4];
	size_t cap = 0, lineno = 0, done = 0, failed = 0;
	int tty = isatty(STDERR_FILENO);

	if (f == NULL) {
		fprintf(stderr, "vimap: %s: %s\n", file, strerror(errno));
		return 1;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *save = NULL, *w;
		int n = 0;
		json_t *res;

		lineno++;
		for (w = strtok_r(line, " \t\r\n", &save); w != NULL && n < 4;
		     w = strtok_r(NULL, " \t\r\n", &save))
			words[n++] = w;
		if (n == 0 || words[0][0] == '#')
			continue;
		res = n > 3 ? NULL : vimap_call(path, "ENROLL", words, n);
		if (res != NULL && json_is_true(json_object_get(res, "ok"))) {
			done++;
		} else {
			failed++;
			fprintf(stderr, "%s%s:%zu: %s: %s\n", tty ? "\r" : "", file, lineno,
				n > 0 ? words[0] : "", n > 3 ? "too many fields (userid [blocks [group]])" :
				res == NULL ? "no answer from vimapd" :
				json_string_value(json_object_get(res, "error")));
		}
		json_decref(res);
		if (tty)
			fprintf(stderr, "\renrolled %zu, failed %zu", done, failed);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	fprintf(stderr, "%senrolled %zu users, %zu failed\n", tty ? "\r" : "", done, failed);
	return failed == 0 ? 0 : 1;
}

static int vimap_admin(const struct vimap_opts *o, int argc, char **argv)
{
	struct vimap_config *cfg = NULL;
	const char *path = o->socket_path;
	json_t *res;
	int fd, ok;

	if (vimap_confirm_delete(o, argc, argv) < 0)
		return 1;
	if (path == NULL) {
		if ((cfg = vimap_config(o)) == NULL)
			return 1;
		path = cfg->admin_socket;
	}
	if (strcasecmp(argv[0], "ENROLL") == 0 && argc == 3 && strcmp(argv[1], "--from") == 0) {
		ok = vimap_bulk_enroll(path, argv[2]);
		config_free(&cfg);
		return ok;
	}
	fd = vimap_connect(path);
	config_free(&cfg);
	if (fd < 0)
		return 1;
	res = vimap_request(fd, argv[0], argv + 1, argc - 1);
	close(fd);
	if (res == NULL) {
		fprintf(stderr, "vimap: no answer from vimapd (see its log)\n");
		return 1;
	}
	ok = json_is_true(json_object_get(res, "ok"));
	if (o->json) {
		char *text = json_dumps(res, JSON_INDENT(2));

		printf("%s\n", text != NULL ? text : "{}");
		free(text);
	} else if (ok) {
		printf("%s\n", json_string_value(json_object_get(res, "output")));
	} else {
		fprintf(stderr, "vimap: %s\n", json_string_value(json_object_get(res, "error")));
	}
	json_decref(res);
	return ok ? 0 : 1;
}

static int vimap_upgrade_store(const struct vimap_opts *o)
{
	struct vimap_config *cfg = vimap_config(o);
	int ret;

	if (cfg == NULL)
		return 1;
	ret = upgrade_store_command(cfg, o->server_name, o->json);
	config_free(&cfg);
	return ret;
}

int main(int argc, char **argv)
{
	struct vimap_opts o;
	int first;

	memset(&o, 0, sizeof(o));
	o.server_name = "vimapd";
	/* A server that hangs up must give an error message, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if ((first = vimap_parse(argc, argv, &o)) < 0)
		return 2;
	if (strcasecmp(argv[first], "passwd") == 0)
		return passwd_file_command(o.config_path, o.server_name, o.users_file,
					   argc - first, argv + first);
	if (strcasecmp(argv[first], "convert-config") == 0)
		return convert_config_command(argc - first, argv + first);
	if (strcasecmp(argv[first], "upgrade-store") == 0)
		return vimap_upgrade_store(&o);
	return vimap_admin(&o, argc - first, argv + first);
}
