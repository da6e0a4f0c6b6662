/* The admin socket: a Unix-domain socket speaking JSON lines, the Linux
 * form of the seed's queue-based administrative interface.  The peer's uid
 * (SO_PEERCRED) must belong to a user in the configuration's
 * `administrators` list (the seed's $SERVER$ NAMES VMIPC list); anyone else
 * is refused and the attempt logged.  One thread serves the requests one at
 * a time, in order, as the seed did — never on an I/O thread.
 *
 * Request:  {"command": "ENROLL", "args": ["smith", "200", "3"]}
 * Response: {"ok": true, "output": "human text", "data": {...}}
 *           {"ok": false, "error": "one line that says what to do"} */
#ifndef VIMAP_ADMIN_H
#define VIMAP_ADMIN_H

struct vimap_config;
struct json_t;

/* Binds the socket and starts the admin thread.  0, or -1 with a reason. */
int admin_start(const struct vimap_config *config, const char **error_r);
/* Stops the thread and removes the socket; safe when never started. */
void admin_stop(void);

/* Runs one request as the named administrator; returns the response
   object (caller frees with json_decref).  Used by the socket and by the
   console. */
struct json_t *admin_execute(const char *admin, const char *command,
			     const char *const *args, unsigned argc);

#endif
