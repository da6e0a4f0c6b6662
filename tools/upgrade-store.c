#include "autoconfig.h"
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vimap/storage.h>
#include "config.h"
#include "host.h"
#include "loader.h"
#include "upgrade-store.h"

/* 0 when no vimapd can be serving the store: its admin socket is absent
   or refuses connections.  Anything else (it answers, or we may not even
   ask) counts as running: converting a store in use would corrupt it. */
static int upgrade_server_running(const char *socket_path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret, errnum;

	if (fd < 0)
		return 1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	errnum = errno;
	close(fd);
	return ret == 0 || (errnum != ENOENT && errnum != ECONNREFUSED);
}

static void upgrade_progress(void *ctx, uint64_t done, uint64_t total)
{
	if (*(int *)ctx)
		return;
	fprintf(stderr, "\rupgrading: %llu of %llu%s", (unsigned long long)done,
		(unsigned long long)total, done == total ? "\n" : "");
}

static int upgrade_run(const struct vimap_plugin_ctx *p, int quiet)
{
	const struct vimap_storage_ops *ops = p->desc->ops;
	struct vimap_storage_error err = { 0, NULL };

	if (ops->size < offsetof(struct vimap_storage_ops, upgrade) + sizeof(ops->upgrade) ||
	    ops->check_format == NULL || ops->upgrade == NULL) {
		fprintf(stderr, "vimap: storage plugin %s has no upgrade: nothing to do\n", p->name);
		return 0;
	}
	if (ops->check_format(p->state, &err) == 0) {
		printf("store is already in %s's current format: nothing to do\n", p->name);
		return 0;
	}
	if (ops->upgrade(p->state, upgrade_progress, &quiet, &err) < 0 ||
	    ops->check_format(p->state, &err) < 0) {
		fprintf(stderr, "vimap: upgrade-store failed: %s (run it again: it "
			"finishes what an interrupted run left)\n", err.text);
		return 1;
	}
	printf("store upgraded to %s's current format\n", p->name);
	return 0;
}

int upgrade_store_command(const struct vimap_config *cfg, const char *server_name,
			  int quiet)
{
	struct vimap_plugin_ctx *p = NULL;
	const char *error;
	int ret = 1;

	if (upgrade_server_running(cfg->admin_socket)) {
		fprintf(stderr, "vimap: vimapd may be running (%s is there and not refusing): "
			"stop it before upgrading the store\n", cfg->admin_socket);
		return 1;
	}
	host_set_config(cfg, server_name);
	if (loader_global_init(&error) < 0 ||
	    loader_open(cfg->plugin_dir, cfg->storage, VIMAP_PLUGIN_STORAGE, &p, &error) < 0 ||
	    loader_init(p, config_plugin_section(cfg, cfg->storage), &error) < 0)
		fprintf(stderr, "vimap: %s\n", error);
	else
		ret = upgrade_run(p, quiet);
	loader_close(&p);
	loader_global_deinit();
	return ret;
}
