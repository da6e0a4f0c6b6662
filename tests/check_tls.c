#include "autoconfig.h"
/* Unit tests of kernel/tls.c: every way the certificate and key fail to
 * load (with the file and OpenSSL's reason in the message), reload that
 * keeps the old context on failure and leaves existing sessions alone, and
 * the non-blocking handshake and I/O over a socketpair against an OpenSSL
 * client.  Certificates are made here with the OpenSSL API. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "config.h"
#include "tls.h"
#include "xalloc.h"

static char tmpdir[PATH_MAX];
static long serial = 1;

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "fopen(%s) failed", path);
	fputs(text, f);
	fclose(f);
}

/* A self-signed P-256 certificate with subject CN=`cn`: NAME.pem and
   NAME.key under tmpdir. */
static void make_cert(const char *name, const char *cn)
{
	char *cert_path = xasprintf("%s/%s.pem", tmpdir, name);
	char *key_path = xasprintf("%s/%s.key", tmpdir, name);
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *subject;
	FILE *f;

	ck_assert_ptr_nonnull(pkey);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pkey);
	subject = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, subject);
	ck_assert_int_gt(X509_sign(x, pkey, EVP_sha256()), 0);
	f = fopen(cert_path, "w");
	ck_assert_ptr_nonnull(f);
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key_path, "w");
	ck_assert_ptr_nonnull(f);
	PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
	free(cert_path);
	free(key_path);
}

static void setup(void)
{
	char *path;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check-tls-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	make_cert("one", "one");
	make_cert("two", "two");
	path = tmp_path("garbage.pem");
	write_text(path, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
	free(path);
	path = tmp_path("empty.pem");
	write_text(path, "no PEM in here\n");
	free(path);
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	free(cmd);
}

/* A configuration holding only the tls keys; NULL names stay unset.
   Paths are file names under tmpdir.  Caller frees with cfg_free. */
static struct vimap_config *cfg_make(const char *cert, const char *key,
				     const char *ca, const char *ciphers)
{
	struct vimap_config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->tls_certificate = cert != NULL ? tmp_path(cert) : NULL;
	cfg->tls_key = key != NULL ? tmp_path(key) : NULL;
	cfg->tls_ca = ca != NULL ? tmp_path(ca) : NULL;
	cfg->tls_ciphers = ciphers != NULL ? xstrdup(ciphers) : NULL;
	cfg->tls_min_version = 0x0303;
	cfg->tls_port = 993;
	return cfg;
}

static void cfg_free(struct vimap_config *cfg)
{
	free(cfg->tls_certificate);
	free(cfg->tls_key);
	free(cfg->tls_ca);
	free(cfg->tls_ciphers);
	free(cfg);
}

static const struct {
	const char *cert, *key, *ca, *ciphers;
	const char *expect1, *expect2;  /* substrings of the error */
} init_failures[] = {
	/* certificate file missing: its path and errno */
	{ "none.pem", "one.key", NULL, NULL, "tls.certificate ", "none.pem: cannot read: No such file" },
	/* certificate not decodable: OpenSSL's reason */
	{ "garbage.pem", "one.key", NULL, NULL, "tls.certificate ", "garbage.pem: cannot load: " },
	/* no PEM block at all */
	{ "empty.pem", "one.key", NULL, NULL, "empty.pem: cannot load: ", "no start line" },
	/* key file missing */
	{ "one.pem", "none.key", NULL, NULL, "tls.key ", "none.key: cannot read: No such file" },
	/* key of another certificate */
	{ "one.pem", "two.key", NULL, NULL, "tls.key ", "mismatch" },
	/* a key file that holds a certificate */
	{ "one.pem", "two.pem", NULL, NULL, "tls.key ", "two.pem: cannot load: " },
	/* chain file without certificates */
	{ "one.pem", "one.key", "empty.pem", NULL, "tls.ca ", "no PEM certificate" },
	/* chain file missing */
	{ "one.pem", "one.key", "none.pem", NULL, "tls.ca ", "cannot read" },
	/* a cipher list that matches nothing */
	{ "one.pem", "one.key", NULL, "NO-SUCH-CIPHER", "tls.ciphers 'NO-SUCH-CIPHER'", "" },
};

START_TEST(test_init_failures)
{
	struct vimap_config *cfg = cfg_make(init_failures[_i].cert, init_failures[_i].key,
					    init_failures[_i].ca, init_failures[_i].ciphers);
	const char *error = NULL;

	ck_assert_int_eq(tls_init(cfg, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, init_failures[_i].expect1) != NULL &&
		      strstr(error, init_failures[_i].expect2) != NULL,
		      "row %d: '%s' lacks '%s' / '%s'", _i, error,
		      init_failures[_i].expect1, init_failures[_i].expect2);
	/* One line, always. */
	ck_assert_ptr_null(strchr(error, '\n'));
	ck_assert_int_eq(tls_enabled(), 0);
	tls_deinit();
	cfg_free(cfg);
}
END_TEST

START_TEST(test_no_certificate_means_no_tls)
{
	struct vimap_config *cfg = cfg_make(NULL, NULL, NULL, NULL);
	const char *error = NULL;

	ck_assert_int_eq(tls_init(cfg, &error), 0);
	ck_assert_int_eq(tls_enabled(), 0);
	ck_assert_ptr_null(tls_new(0, &error));
	ck_assert_int_eq(tls_reload(&error), -1);
	tls_deinit();
	cfg_free(cfg);
}
END_TEST

START_TEST(test_key_defaults_to_certificate_file)
{
	struct vimap_config *cfg;
	char *both = tmp_path("both.pem");
	char *cmd = xasprintf("cat '%s/one.pem' '%s/one.key' > '%s'", tmpdir, tmpdir, both);
	const char *error = NULL;

	ck_assert_int_eq(system(cmd), 0);
	cfg = cfg_make("both.pem", NULL, NULL, NULL);
	ck_assert_msg(tls_init(cfg, &error) == 0, "%s", error);
	ck_assert_int_eq(tls_enabled(), 1);
	tls_deinit();
	cfg_free(cfg);
	free(cmd);
	free(both);
}
END_TEST

static char *session_cn(SSL *ssl)
{
	char buf[64];
	X509 *x = SSL_get_certificate(ssl);

	ck_assert_ptr_nonnull(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf));
	return xstrdup(buf);
}

static void copy_file(const char *from, const char *to)
{
	char *cmd = xasprintf("cp '%s/%s' '%s/%s'", tmpdir, from, tmpdir, to);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

START_TEST(test_reload_new_sessions_only_and_keeps_old_on_failure)
{
	struct vimap_config *cfg;
	const char *error = NULL;
	SSL *before, *after, *after_bad;
	char *cn;
	int sv[2];

	copy_file("one.pem", "cur.pem");
	copy_file("one.key", "cur.key");
	cfg = cfg_make("cur.pem", "cur.key", NULL, NULL);
	ck_assert_msg(tls_init(cfg, &error) == 0, "%s", error);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	before = tls_new(sv[0], &error);
	ck_assert_ptr_nonnull(before);

	copy_file("two.pem", "cur.pem");
	copy_file("two.key", "cur.key");
	ck_assert_msg(tls_reload(&error) == 0, "%s", error);
	after = tls_new(sv[0], &error);
	ck_assert_str_eq(cn = session_cn(after), "two");
	free(cn);
	/* The session made before the reload keeps its certificate. */
	ck_assert_str_eq(cn = session_cn(before), "one");
	free(cn);

	/* A bad file: an error naming it, and the last good context stays. */
	copy_file("garbage.pem", "cur.pem");
	ck_assert_int_eq(tls_reload(&error), -1);
	ck_assert_ptr_nonnull(strstr(error, "cur.pem: cannot load"));
	ck_assert_int_eq(tls_enabled(), 1);
	after_bad = tls_new(sv[0], &error);
	ck_assert_str_eq(cn = session_cn(after_bad), "two");
	free(cn);

	tls_free(&before);
	tls_free(&after);
	tls_free(&after_bad);
	ck_assert_ptr_null(before);
	tls_deinit();
	close(sv[0]);
	close(sv[1]);
	cfg_free(cfg);
}
END_TEST

/* ---- handshake and I/O over a socketpair ---- */

struct pair {
	int fd[2];
	SSL *server;          /* from tls_new */
	SSL_CTX *client_ctx;
	SSL *client;
};

static void pair_open(struct pair *p, const char *min_version_client_max)
{
	const char *error = NULL;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd), 0);
	p->server = tls_new(p->fd[0], &error);
	ck_assert_msg(p->server != NULL, "%s", error);
	p->client_ctx = SSL_CTX_new(TLS_client_method());
	if (min_version_client_max != NULL)
		SSL_CTX_set_max_proto_version(p->client_ctx, TLS1_2_VERSION);
	p->client = SSL_new(p->client_ctx);
	SSL_set_fd(p->client, p->fd[1]);
	SSL_set_connect_state(p->client);
}

static void pair_close(struct pair *p)
{
	tls_free(&p->server);
	SSL_free(p->client);
	SSL_CTX_free(p->client_ctx);
	close(p->fd[0]);
	close(p->fd[1]);
}

/* Drives both ends until the handshake ends; the result of the server's
   last tls_read. */
static enum tls_io_result pair_handshake(struct pair *p, const char **error_r)
{
	enum tls_io_result r = TLS_IO_WANT_READ;
	char buf[16];
	size_t n;
	int i;

	for (i = 0; i < 50; i++) {
		int c = SSL_do_handshake(p->client);

		r = tls_read(p->server, buf, sizeof(buf), &n, error_r);
		if (r != TLS_IO_WANT_READ && r != TLS_IO_WANT_WRITE)
			return r;
		if (c == 1 && tls_handshake_done(p->server))
			return r;
	}
	return r;
}

static void load_one(struct vimap_config **cfg_r, unsigned min_version)
{
	const char *error = NULL;

	*cfg_r = cfg_make("one.pem", "one.key", NULL, NULL);
	(*cfg_r)->tls_min_version = min_version;
	ck_assert_msg(tls_init(*cfg_r, &error) == 0, "%s", error);
}

START_TEST(test_handshake_read_write_close)
{
	struct vimap_config *cfg;
	struct pair p;
	const char *error = NULL;
	char buf[64], desc[128];
	size_t n;
	int got;

	load_one(&cfg, 0x0303);
	pair_open(&p, NULL);
	ck_assert_int_eq(tls_handshake_done(p.server), 0);
	/* Nothing from the client yet: the server waits for its hello. */
	ck_assert_int_eq(tls_read(p.server, buf, sizeof(buf), &n, &error), TLS_IO_WANT_READ);
	ck_assert_int_eq(pair_handshake(&p, &error), TLS_IO_WANT_READ);
	ck_assert_int_eq(tls_handshake_done(p.server), 1);
	ck_assert_ptr_nonnull(strstr(tls_describe(p.server, desc, sizeof(desc)), "TLSv1.3 "));

	/* client -> server */
	ck_assert_int_eq(SSL_write(p.client, "a NOOP\r\n", 8), 8);
	ck_assert_int_eq(tls_read(p.server, buf, sizeof(buf), &n, &error), TLS_IO_OK);
	ck_assert_uint_eq(n, 8);
	ck_assert_int_eq(memcmp(buf, "a NOOP\r\n", 8), 0);
	ck_assert_int_eq(tls_has_pending(p.server), 0);
	/* A read smaller than the record leaves bytes inside the session. */
	ck_assert_int_eq(SSL_write(p.client, "b NOOP\r\n", 8), 8);
	ck_assert_int_eq(tls_read(p.server, buf, 3, &n, &error), TLS_IO_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(tls_has_pending(p.server), 1);
	ck_assert_int_eq(tls_read(p.server, buf, sizeof(buf), &n, &error), TLS_IO_OK);
	ck_assert_uint_eq(n, 5);

	/* server -> client */
	ck_assert_int_eq(tls_write(p.server, "a OK\r\n", 6, &n, &error), TLS_IO_OK);
	ck_assert_uint_eq(n, 6);
	got = SSL_read(p.client, buf, sizeof(buf));
	ck_assert_int_eq(got, 6);

	/* The client ends the session. */
	SSL_shutdown(p.client);
	ck_assert_int_eq(tls_read(p.server, buf, sizeof(buf), &n, &error), TLS_IO_CLOSED);
	pair_close(&p);
	tls_deinit();
	cfg_free(cfg);
}
END_TEST

START_TEST(test_partial_writes_until_socket_full)
{
	struct vimap_config *cfg;
	struct pair p;
	const char *error = NULL;
	size_t total = 4 * 1024 * 1024, sent = 0, received = 0, n;
	char *out = xmalloc(total), in[16384];
	enum tls_io_result r;
	int full = 0;

	memset(out, 'x', total);
	load_one(&cfg, 0x0303);
	pair_open(&p, NULL);
	pair_handshake(&p, &error);
	/* Write until the socket is full: WANT_WRITE, never a blocking call. */
	while (sent < total) {
		r = tls_write(p.server, out + sent, total - sent, &n, &error);
		if (r == TLS_IO_WANT_WRITE) {
			full = 1;
			break;
		}
		ck_assert_int_eq(r, TLS_IO_OK);
		sent += n;
	}
	ck_assert_int_eq(full, 1);
	/* Drain on the client; retry the write with the buffer it asked for. */
	while (received < total) {
		int got = SSL_read(p.client, in, sizeof(in));

		if (got > 0) {
			received += (size_t)got;
			continue;
		}
		ck_assert_int_eq(SSL_get_error(p.client, got), SSL_ERROR_WANT_READ);
		r = tls_write(p.server, out + sent, total - sent, &n, &error);
		ck_assert(r == TLS_IO_OK || r == TLS_IO_WANT_WRITE);
		if (r == TLS_IO_OK)
			sent += n;
	}
	ck_assert_uint_eq(sent, total);
	free(out);
	pair_close(&p);
	tls_deinit();
	cfg_free(cfg);
}
END_TEST

START_TEST(test_min_version_refuses_older_client)
{
	struct vimap_config *cfg;
	struct pair p;
	const char *error = NULL;

	load_one(&cfg, 0x0304);
	pair_open(&p, "1.2");
	ck_assert_int_eq(pair_handshake(&p, &error), TLS_IO_ERROR);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, "version") != NULL || strstr(error, "protocol") != NULL,
		      "%s", error);
	pair_close(&p);
	tls_deinit();
	cfg_free(cfg);
}
END_TEST

START_TEST(test_garbage_instead_of_hello_is_an_error)
{
	struct vimap_config *cfg;
	struct pair p;
	const char *error = NULL;
	char buf[64];
	size_t n;

	load_one(&cfg, 0x0303);
	pair_open(&p, NULL);
	/* A plaintext command where the ClientHello should be (STARTTLS
	   injection): refused, never read as data. */
	ck_assert_int_eq(write(p.fd[1], "x LOGIN a b\r\n", 13), 13);
	ck_assert_int_eq(tls_read(p.server, buf, sizeof(buf), &n, &error), TLS_IO_ERROR);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(error);
	ck_assert_int_eq(tls_handshake_done(p.server), 0);
	pair_close(&p);
	tls_deinit();
	cfg_free(cfg);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_init_failures, 0,
			    (int)(sizeof(init_failures) / sizeof(init_failures[0])));
	tcase_add_test(tc, test_no_certificate_means_no_tls);
	tcase_add_test(tc, test_key_defaults_to_certificate_file);
	tcase_add_test(tc, test_reload_new_sessions_only_and_keeps_old_on_failure);
	tcase_add_test(tc, test_handshake_read_write_close);
	tcase_add_test(tc, test_partial_writes_until_socket_full);
	tcase_add_test(tc, test_min_version_refuses_older_client);
	tcase_add_test(tc, test_garbage_instead_of_hello_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tls_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
