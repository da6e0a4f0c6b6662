/* Privilege separation (configuration keys `user` and `group`).
 *
 * Started as root with `user` set, vimapd runs as three processes:
 *   vimapd       binds its ports and sockets, then runs as `user` for
 *                good: everything that parses network input;
 *   vimap-authmon  a tiny root process that only (re)starts the auth
 *                process and tells vimapd when it died;
 *   vimap-auth   root; loads the configured auth plugin (it alone) and
 *                answers vimapd's requests over a SOCK_SEQPACKET
 *                socketpair in the typed catalogue of privsep-msg.h,
 *                several at a time, so that one blocking exit never
 *                stalls other logins.
 * vimapd reaches the plugin through the proxy of auth-proxy.h, so the
 * kernel's auth call sites do not know about any of this.
 *
 * Between privsep_start() and privsep_drop() vimapd runs with the user's
 * effective ids (whatever it creates, the store first, belongs to the
 * user) and only the capabilities that binding needs (NET_BIND_SERVICE,
 * DAC_OVERRIDE, DAC_READ_SEARCH); privsep_drop() then gives up root for
 * good.  Without `user`, or when not started as root, nothing changes. */
#ifndef VIMAP_PRIVSEP_H
#define VIMAP_PRIVSEP_H

#include <stdint.h>

struct vimap_config;

/* Call while vimapd has a single thread, before server_start().  When
   `config->user` is set and the process runs as root: forks the auth
   monitor (which forks the auth process), waits until the auth plugin is
   loaded, sets PR_SET_NO_NEW_PRIVS and switches to the user's effective
   ids.  Returns 1 when separated, 0 when not (no `user`; or not root,
   which is logged), -1 with a one-line reason (unknown user, the auth
   plugin failed to load: its reason).  `config` must stay valid until
   privsep_stop(). */
int privsep_start(const struct vimap_config *config, const char **error_r);

/* 1 between a privsep_start() that separated and privsep_stop(). */
int privsep_enabled(void);

/* Once every port and socket is bound (after server_start()): gives up
   root in every thread (setgroups, setgid, setuid; a following setuid(0)
   must fail) and checks that the user can reach the filepool.  0 (also
   when not separated), or -1 with a reason: start-up then stops. */
int privsep_drop(const struct vimap_config *config, const char **error_r);

/* After server_stop(): closes the channel (the auth process and the
   monitor exit on it) and reaps the monitor.  Safe when not separated. */
void privsep_stop(void);

/* ---- internal to kernel/privsep*.c ---- */

/* The auth process: loads the auth plugin of `config`, says HELLO on
   `fd` and serves requests stamped with generation `gen` until the
   channel closes.  Never returns. */
void privsep_auth_main(const struct vimap_config *config, int fd, uint32_t gen)
	__attribute__((noreturn));

#endif
