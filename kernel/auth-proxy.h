/* The auth plugin as vimapd sees it under privilege separation
 * (kernel/privsep.h): a `struct vimap_auth_ops` whose every member sends
 * one request over the channel to the auth process and waits for its
 * reply.  Worker threads call it concurrently: requests carry ids, and one
 * reader thread hands each reply to the request that waits for it.
 *
 * When the auth process dies, the requests waiting for it fail at once
 * (FAILED: the client is told NO [UNAVAILABLE]) and so does every request
 * until the monitor's new auth process says HELLO; SASL exchanges begun
 * with the dead one fail at their next step.  Nothing here ever exits. */
#ifndef VIMAP_AUTH_PROXY_H
#define VIMAP_AUTH_PROXY_H

struct vimap_plugin_ctx;

/* Takes over `fd` (vimapd's end of the socketpair; closed by
   auth_proxy_stop(), also after a failure here), waits up to `timeout_ms`
   for the auth process's first HELLO and starts the reader thread.
   `name` is the configured auth plugin (copied).  0, or -1 with a
   one-line reason (the plugin's own when it failed to load). */
int auth_proxy_start(int fd, const char *name, int timeout_ms, const char **error_r);

/* When the proxy runs: a new plugin record for `server.auth` whose ops
   are the proxy's (the caller frees it with loader_close(), which calls
   nothing of the proxy), with the plugin's name and version and its
   mechanisms (valid until auth_proxy_stop()).  NULL when no proxy runs:
   then the kernel loads the plugin itself. */
struct vimap_plugin_ctx *auth_proxy_plugin(void);

/* Fails what still waits, closes the channel, joins the reader.  Call
   once no worker can call the proxy any more (after server_stop()). */
void auth_proxy_stop(void);

#endif
