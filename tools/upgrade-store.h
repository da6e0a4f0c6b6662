/* `vimap upgrade-store`: converts the configured store in place to the
 * storage plugin's current format (the seed's IMAP5TO6), with vimapd
 * stopped. */
#ifndef VIMAP_TOOLS_UPGRADE_STORE_H
#define VIMAP_TOOLS_UPGRADE_STORE_H

struct vimap_config;

/* Runs the command for `cfg` (server `server_name`); `quiet` drops the
   progress display.  Returns the exit status: 0 done (or nothing to do),
   1 failed. */
int upgrade_store_command(const struct vimap_config *cfg, const char *server_name,
			  int quiet);

#endif
