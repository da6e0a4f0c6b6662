/* TLS (OpenSSL): the server's context, built from the `tls:` section of the
 * configuration and replaced on SIGHUP, and the non-blocking I/O of one TLS
 * connection for kernel/client.c.  A connection holds a reference to the
 * context it was made with, so a reload changes only new connections. */
#ifndef VIMAP_TLS_H
#define VIMAP_TLS_H

#include <stddef.h>

struct ssl_st;
struct vimap_config;

/* Loads certificate, key and chain named by `cfg` into a new context.  0
   with nothing done when no certificate is configured; -1 with a one-line
   reason naming the file and OpenSSL's reason otherwise.  Call once, from
   the main thread, before any connection is accepted. */
int tls_init(const struct vimap_config *cfg, const char **error_r);

/* Drops the context (connections still open keep theirs alive). */
void tls_deinit(void);

/* 1 when TLS is configured (STARTTLS and the implicit port are offered). */
int tls_enabled(void);

/* Reads certificate, key and chain again from the same files and makes
   them the context of new connections.  On failure the old context stays
   and -1 comes with the reason.  Thread-safe. */
int tls_reload(const char **error_r);

/* A new server-side TLS session on connected socket `fd`, not yet
   handshaken, or NULL with the reason.  Caller frees with tls_free(). */
struct ssl_st *tls_new(int fd, const char **error_r);

/* Sends close_notify when the handshake finished (best effort, never
   blocks), then frees the session and leaves NULL.  NULL is a no-op. */
void tls_free(struct ssl_st **ssl);

enum tls_io_result {
	TLS_IO_OK,         /* *n_r bytes were moved */
	TLS_IO_WANT_READ,  /* nothing now: retry once the socket is readable */
	TLS_IO_WANT_WRITE, /* nothing now: retry once the socket is writable */
	TLS_IO_CLOSED,     /* the peer ended the session or the connection */
	TLS_IO_ERROR       /* protocol or socket error: *error_r says which */
};

/* SSL_read/SSL_write on a non-blocking socket.  The handshake runs inside
   them as needed.  After TLS_IO_WANT_WRITE a tls_write must be retried with
   at least the same bytes (the buffer may move).  *error_r is valid until
   this thread formats the next error. */
enum tls_io_result tls_read(struct ssl_st *ssl, void *buf, size_t size,
			    size_t *n_r, const char **error_r);
enum tls_io_result tls_write(struct ssl_st *ssl, const void *buf, size_t size,
			     size_t *n_r, const char **error_r);

/* 1 when decrypted bytes (or a whole record) wait inside the session, so
   a read would succeed though the socket may be empty. */
int tls_has_pending(const struct ssl_st *ssl);

/* 1 once the handshake has finished. */
int tls_handshake_done(const struct ssl_st *ssl);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for logs: a static string of OpenSSL's
   or the caller's buffer `buf`. */
const char *tls_describe(const struct ssl_st *ssl, char *buf, size_t size);

#endif
