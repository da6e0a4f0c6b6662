#include "autoconfig.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include "config.h"
#include "error.h"
#include "tls.h"
#include "xalloc.h"

/* What a reload needs: the files and settings of the configuration. */
struct tls_settings {
	char *certificate;
	char *key;
	char *ca;
	char *ciphers;
	int min_version;
};

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *tls_ctx;          /* new connections use this one */
static struct tls_settings tls_set;

/* OpenSSL's reason for the oldest error in this thread's queue, which is
   the most specific one ("no start line", "key values mismatch"); the
   queue is emptied. */
static const char *tls_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();
	const char *reason;

	ERR_clear_error();
	if (e == 0)
		return "unknown error";
	reason = ERR_reason_error_string(e);
	if (reason != NULL)
		return reason;
	ERR_error_string_n(e, buf, size);
	return buf;
}

/* The file must be readable: its own errno says more than OpenSSL's. */
static int tls_check_file(const char *what, const char *path, const char **error_r)
{
	if (access(path, R_OK) < 0)
		return error_set(error_r, "tls.%s %s: cannot read: %s", what, path,
				 strerror(errno));
	return 0;
}

/* Each certificate of the PEM file `path` joins the chain sent after the
   server's own certificate. */
static int tls_load_chain(SSL_CTX *ctx, const char *path, const char **error_r)
{
	char buf[256];
	BIO *bio;
	X509 *x;
	unsigned n = 0;

	if (tls_check_file("ca", path, error_r) < 0)
		return -1;
	bio = BIO_new_file(path, "r");
	if (bio == NULL)
		return error_set(error_r, "tls.ca %s: cannot open: %s", path,
				 tls_reason(buf, sizeof(buf)));
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		int ok = SSL_CTX_add1_chain_cert(ctx, x);

		X509_free(x);
		if (!ok) {
			BIO_free(bio);
			return error_set(error_r, "tls.ca %s: cannot use certificate %u: %s",
					 path, n + 1, tls_reason(buf, sizeof(buf)));
		}
		n++;
	}
	BIO_free(bio);
	/* The loop ends on "no start line" at the end of the file. */
	ERR_clear_error();
	if (n == 0)
		return error_set(error_r, "tls.ca %s: no PEM certificate in the file", path);
	return 0;
}

static int tls_load_keys(SSL_CTX *ctx, const struct tls_settings *s, const char **error_r)
{
	char buf[256];

	if (tls_check_file("certificate", s->certificate, error_r) < 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, s->certificate) != 1)
		return error_set(error_r, "tls.certificate %s: cannot load: %s",
				 s->certificate, tls_reason(buf, sizeof(buf)));
	if (tls_check_file("key", s->key, error_r) < 0)
		return -1;
	if (SSL_CTX_use_PrivateKey_file(ctx, s->key, SSL_FILETYPE_PEM) != 1)
		return error_set(error_r, "tls.key %s: cannot load: %s", s->key,
				 tls_reason(buf, sizeof(buf)));
	if (SSL_CTX_check_private_key(ctx) != 1)
		return error_set(error_r, "tls.key %s: does not match certificate %s: %s",
				 s->key, s->certificate, tls_reason(buf, sizeof(buf)));
	if (s->ca != NULL && tls_load_chain(ctx, s->ca, error_r) < 0)
		return -1;
	return 0;
}

/* A new context from `s`, or NULL with the reason. */
static SSL_CTX *tls_ctx_create(const struct tls_settings *s, const char **error_r)
{
	static const unsigned char sid_ctx[] = "vimap";
	char buf[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		error_set(error_r, "tls: SSL_CTX_new() failed: %s", tls_reason(buf, sizeof(buf)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, s->min_version);
	/* Renegotiation is a denial-of-service lever and IMAP needs none; an
	   EOF without close_notify is an ordinary disconnect for IMAP. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Output is written from a buffer that moves and shrinks; idle
	   connections give their record buffers back (10,000 of them). */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_dh_auto(ctx, 1);
	if (s->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, s->ciphers) != 1) {
		error_set(error_r, "tls.ciphers '%s': %s", s->ciphers, tls_reason(buf, sizeof(buf)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (tls_load_keys(ctx, s, error_r) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static char *tls_strdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

int tls_init(const struct vimap_config *cfg, const char **error_r)
{
	SSL_CTX *ctx;

	if (cfg->tls_certificate == NULL)
		return 0;
	tls_set.certificate = xstrdup(cfg->tls_certificate);
	tls_set.key = xstrdup(cfg->tls_key != NULL ? cfg->tls_key : cfg->tls_certificate);
	tls_set.ca = tls_strdup_or_null(cfg->tls_ca);
	tls_set.ciphers = tls_strdup_or_null(cfg->tls_ciphers);
	tls_set.min_version = cfg->tls_min_version == 0x0304 ? TLS1_3_VERSION : TLS1_2_VERSION;
	ctx = tls_ctx_create(&tls_set, error_r);
	if (ctx == NULL)
		return -1;
	pthread_mutex_lock(&tls_lock);
	tls_ctx = ctx;
	pthread_mutex_unlock(&tls_lock);
	return 0;
}

void tls_deinit(void)
{
	pthread_mutex_lock(&tls_lock);
	SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
	pthread_mutex_unlock(&tls_lock);
	free(tls_set.certificate);
	free(tls_set.key);
	free(tls_set.ca);
	free(tls_set.ciphers);
	memset(&tls_set, 0, sizeof(tls_set));
}

int tls_enabled(void)
{
	int on;

	pthread_mutex_lock(&tls_lock);
	on = tls_ctx != NULL;
	pthread_mutex_unlock(&tls_lock);
	return on;
}

int tls_reload(const char **error_r)
{
	SSL_CTX *ctx, *old;

	if (tls_set.certificate == NULL)
		return error_set(error_r, "tls: not configured");
	ctx = tls_ctx_create(&tls_set, error_r);
	if (ctx == NULL)
		return -1;
	pthread_mutex_lock(&tls_lock);
	old = tls_ctx;
	tls_ctx = ctx;
	pthread_mutex_unlock(&tls_lock);
	/* Sessions made from the old context hold references of their own. */
	SSL_CTX_free(old);
	return 0;
}

SSL *tls_new(int fd, const char **error_r)
{
	char buf[256];
	SSL *ssl = NULL;

	pthread_mutex_lock(&tls_lock);
	if (tls_ctx != NULL)
		ssl = SSL_new(tls_ctx);
	pthread_mutex_unlock(&tls_lock);
	if (ssl == NULL) {
		error_set(error_r, "tls: SSL_new() failed: %s", tls_reason(buf, sizeof(buf)));
		return NULL;
	}
	if (SSL_set_fd(ssl, fd) != 1) {
		error_set(error_r, "tls: SSL_set_fd() failed: %s", tls_reason(buf, sizeof(buf)));
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

void tls_free(SSL **sslp)
{
	SSL *ssl = *sslp;

	if (ssl == NULL)
		return;
	*sslp = NULL;
	/* After a fatal error the session is in error state and SSL_shutdown
	   refuses: harmless either way. */
	if (SSL_is_init_finished(ssl))
		(void)SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
}

static enum tls_io_result tls_io_failed(SSL *ssl, int ret, const char **error_r)
{
	char buf[256];
	int err = SSL_get_error(ssl, ret);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_IO_CLOSED;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && (errno == 0 || errno == ECONNRESET || errno == EPIPE))
			return TLS_IO_CLOSED;
		error_set(error_r, "%s", ERR_peek_error() != 0 ?
			  tls_reason(buf, sizeof(buf)) : strerror(errno));
		return TLS_IO_ERROR;
	default:
		error_set(error_r, "%s", tls_reason(buf, sizeof(buf)));
		return TLS_IO_ERROR;
	}
}

enum tls_io_result tls_read(SSL *ssl, void *buf, size_t size, size_t *n_r,
			    const char **error_r)
{
	int n;

	ERR_clear_error();
	errno = 0;
	n = SSL_read(ssl, buf, size > INT_MAX ? INT_MAX : (int)size);
	if (n > 0) {
		*n_r = (size_t)n;
		return TLS_IO_OK;
	}
	*n_r = 0;
	return tls_io_failed(ssl, n, error_r);
}

enum tls_io_result tls_write(SSL *ssl, const void *buf, size_t size, size_t *n_r,
			     const char **error_r)
{
	int n;

	ERR_clear_error();
	errno = 0;
	n = SSL_write(ssl, buf, size > INT_MAX ? INT_MAX : (int)size);
	if (n > 0) {
		*n_r = (size_t)n;
		return TLS_IO_OK;
	}
	*n_r = 0;
	return tls_io_failed(ssl, n, error_r);
}

int tls_has_pending(const SSL *ssl)
{
	/* Decrypted bytes only: an incomplete record in the buffer cannot be
	   read until the socket brings the rest, and epoll says when. */
	return SSL_pending(ssl) > 0;
}

int tls_handshake_done(const SSL *ssl)
{
	return SSL_is_init_finished(ssl);
}

const char *tls_describe(const SSL *ssl, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	return buf;
}
