/* vimapd: the vimap IMAP server.  Reads its configuration, loads the
 * configured plugins, and serves IMAP until SIGTERM. */
#include "autoconfig.h"
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "host.h"
#include "log.h"
#include "privsep.h"
#include "server.h"
#include "stats.h"
#include "trace.h"

struct main_options {
	const char *config_path;   /* --config */
	const char *server_name;   /* --name */
	int check_only;            /* --check-config */
};

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: vimapd [--config FILE] [--name NAME] [--check-config]\n"
		"  -c, --config FILE   read FILE instead of the look-up order\n"
		"  -n, --name NAME     server name: reads %s/vimap/NAME.yaml first\n"
		"                      (default vimapd), then %s/vimap/vimap.yaml\n"
		"  -t, --check-config  check the configuration and exit\n"
		"  -V, --version       print the version and the plugin ABI\n",
		SYSCONFDIR, SYSCONFDIR);
}

/* Returns 0 to go on, 1 to exit 0, -1 to exit 2. */
static int main_parse_args(int argc, char **argv, struct main_options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:n:tVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->config_path = optarg; break;
		case 'n': o->server_name = optarg; break;
		case 't': o->check_only = 1; break;
		case 'V':
			printf("vimapd %s (plugin ABI %d.%d, signature %s)\n", PACKAGE_VERSION,
			       VIMAP_ABI_MAJOR, VIMAP_ABI_MINOR, VIMAP_BUILD_SIGNATURE);
			return 1;
		case 'h':
			main_usage(stdout);
			return 1;
		default:
			main_usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vimapd: unexpected argument '%s'\n", argv[optind]);
		main_usage(stderr);
		return -1;
	}
	return 0;
}

static int main_load_config(const struct main_options *o, struct vimap_config **cfg_r)
{
	const char *error;
	char *path;

	if (config_find(SYSCONFDIR "/vimap", o->server_name, o->config_path,
			&path, &error) < 0) {
		log_error("config", "%s", error);
		return -1;
	}
	if (config_load(path, cfg_r, &error) < 0) {
		log_error("config", "%s", error);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

/* Every thread inherits this mask: signals are taken by sigwait() in the
   main thread only, never in the middle of an I/O thread's work. */
static void main_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct main_options opts = { NULL, "vimapd", 0 };
	struct vimap_config *cfg;
	const char *error;
	int ret = main_parse_args(argc, argv, &opts);

	if (ret != 0)
		return ret > 0 ? 0 : 2;
	if (main_load_config(&opts, &cfg) < 0)
		return 1;
	if (opts.check_only) {
		printf("vimapd: configuration %s is valid\n", cfg->path);
		config_free(&cfg);
		return 0;
	}
	log_init("vimapd", strcmp(cfg->log_target, "syslog") == 0, cfg->log_level);
	stats_init();
	trace_set(cfg->trace, 1, cfg->trace_socketio_address);
	main_block_signals();
	host_set_config(cfg, opts.server_name);
	/* Privilege separation forks its auth process while vimapd still has
	   one thread, gives up root once everything is bound, and only then
	   does vimapd accept clients or delivery input. */
	if (privsep_start(cfg, &error) < 0 || server_start(cfg, &error) < 0 ||
	    privsep_drop(cfg, &error) < 0 || server_serve(&error) < 0) {
		log_error("server", "start-up failed: %s", error);
		server_stop();
		privsep_stop();
		config_free(&cfg);
		return 1;
	}
	server_run_until_signal();
	privsep_stop();
	config_free(&cfg);
	log_deinit();
	return 0;
}
