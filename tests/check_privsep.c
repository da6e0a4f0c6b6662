/* Privilege separation: the message catalogue (kernel/privsep-msg.c)
 * encoded, decoded and refused when malformed, on both sides of a real
 * SOCK_SEQPACKET socketpair; and the auth process (kernel/privsep-auth.c)
 * with the cp plugin of the build, fed requests a compromised vimapd could
 * send: it answers the good ones and refuses the rest without running
 * them. */
#include "autoconfig.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vimap/auth.h>
#include "config.h"
#include "privsep-msg.h"
#include "privsep.h"

/* ---- records built by hand ---- */

/* A record: header `hdr` followed by `payload` (payload_len octets). */
static size_t make_record(unsigned char *out, const struct privsep_hdr *hdr,
			  const void *payload, size_t payload_len)
{
	memcpy(out, hdr, sizeof(*hdr));
	memcpy(out + sizeof(*hdr), payload, payload_len);
	return sizeof(*hdr) + payload_len;
}

struct decode_case {
	const char *what;
	struct privsep_hdr hdr;
	const char *payload;
	size_t payload_len;
	int ok;                    /* 0: decoded; -1: refused */
	const char *error_part;    /* in the error when refused */
};

static const struct decode_case decode_cases[] = {
	/* a well-formed VERIFY */
	{ "verify", { PRIVSEP_VERIFY, 0, 1, 0, 7, 0, { 5, 6, 0, 0 } },
	  "alicesecret", 11, 0, NULL },
	/* an empty password is a password */
	{ "verify empty password", { PRIVSEP_VERIFY, 0, 1, 0, 7, 0, { 5, 0, 0, 0 } },
	  "alice", 5, 0, NULL },
	/* type 0 and types past the catalogue */
	{ "type 0", { 0, 0, 1, 0, 1, 0, { 0, 0, 0, 0 } }, "", 0, -1, "unknown message type" },
	{ "type too big", { PRIVSEP_TYPE_COUNT, 0, 1, 0, 1, 0, { 0, 0, 0, 0 } }, "", 0, -1,
	  "unknown message type" },
	/* a field longer than the record */
	{ "length overruns", { PRIVSEP_VERIFY, 0, 1, 0, 1, 0, { 5, 100, 0, 0 } },
	  "alicesecret", 11, -1, "overruns" },
	/* 0xffffffff must not wrap the sum */
	{ "length wraps", { PRIVSEP_VERIFY, 0, 1, 0, 1, 0, { 0xffffffffu, 12, 0, 0 } },
	  "alicesecret", 11, -1, "overruns" },
	/* octets after the last field */
	{ "trailing octets", { PRIVSEP_VERIFY, 0, 1, 0, 1, 0, { 5, 3, 0, 0 } },
	  "alicesecret", 11, -1, "after the fields" },
	/* a NUL inside a text field would cut the user id short */
	{ "NUL in user", { PRIVSEP_VERIFY, 0, 1, 0, 1, 0, { 5, 6, 0, 0 } },
	  "al\0cesecret", 11, -1, "holds a NUL" },
	/* a field the type does not carry */
	{ "extra field", { PRIVSEP_VERIFY, 0, 1, 0, 1, 0, { 5, 3, 3, 0 } },
	  "alicesecretabc", 14, -1, "must be empty" },
	/* NULL flag on a field that may not be NULL */
	{ "NULL user", { PRIVSEP_VERIFY, PRIVSEP_NULL(0), 1, 0, 1, 0, { 0, 6, 0, 0 } },
	  "secret", 6, -1, "must not be NULL" },
	/* NULL flag with a length */
	{ "NULL with length", { PRIVSEP_SASL_STEP, PRIVSEP_NULL(0), 1, 0, 1, 9, { 3, 0, 0, 0 } },
	  "abc", 3, -1, "must not be NULL" },
	/* NULL response: SASL-IR absent */
	{ "NULL response", { PRIVSEP_SASL_STEP, PRIVSEP_NULL(0), 1, 0, 1, 9, { 0, 0, 0, 0 } },
	  "", 0, 0, NULL },
	/* binary data may hold NULs */
	{ "binary response", { PRIVSEP_SASL_STEP, 0, 1, 0, 1, 9, { 7, 0, 0, 0 } },
	  "\0a\0b\0c\0", 7, 0, NULL },
	/* unknown flags */
	{ "unknown flag", { PRIVSEP_VERIFY, 1u << 30, 1, 0, 1, 0, { 5, 6, 0, 0 } },
	  "alicesecret", 11, -1, "unknown flags" },
	/* HAS_* flags belong to HELLO only */
	{ "HAS flag on VERIFY", { PRIVSEP_VERIFY, PRIVSEP_HAS_VERIFY, 1, 0, 1, 0, { 5, 6, 0, 0 } },
	  "alicesecret", 11, -1, "unknown flags" },
	/* a request carries result 0 */
	{ "result on a request", { PRIVSEP_VERIFY, 0, 1, 1, 1, 0, { 5, 6, 0, 0 } },
	  "alicesecret", 11, -1, "out of range" },
	/* a verify reply between -1 and 1 only */
	{ "verify reply result 2", { PRIVSEP_VERIFY_REPLY, PRIVSEP_NULL(0), 1, 2, 1, 0,
				     { 0, 0, 0, 0 } }, "", 0, -1, "out of range" },
	/* a SCRAM secret of the wrong size */
	{ "short SCRAM secret", { PRIVSEP_SCRAM_SECRET_REPLY, PRIVSEP_NULL(1), 1, 1, 1, 0,
				  { 10, 0, 0, 0 } }, "0123456789", 10, -1, "expected" },
	/* a mechanism name longer than its 64-octet limit */
	{ "long mechanism", { PRIVSEP_SASL_START, 0, 1, 0, 1, 0, { 65, 1, 0, 0 } },
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAx", 66, -1,
	  "at most 64" },
	/* DOWN carries any wait status */
	{ "down", { PRIVSEP_DOWN, 0, 3, 9, 0, 0, { 0, 0, 0, 0 } }, "", 0, 0, NULL },
};

START_TEST(test_decode_table)
{
	const struct decode_case *c = &decode_cases[_i];
	unsigned char rec[512];
	struct privsep_msg msg;
	const char *error = NULL;
	size_t n = make_record(rec, &c->hdr, c->payload, c->payload_len);
	int ret = privsep_msg_decode(rec, n, &msg, &error);

	ck_assert_msg(ret == c->ok, "%s: %d (%s)", c->what, ret, ret < 0 ? error : "");
	if (ret < 0) {
		ck_assert_msg(strstr(error, c->error_part) != NULL, "%s: '%s'", c->what, error);
		/* The header is still there, for a refusal naming the id. */
		ck_assert_uint_eq(msg.hdr.id, c->hdr.id);
	}
	privsep_msg_free(&msg);
}
END_TEST

/* Every prefix of a good record is refused. */
START_TEST(test_decode_truncated)
{
	struct privsep_hdr hdr = { PRIVSEP_VERIFY, 0, 1, 0, 3, 0, { 5, 6, 0, 0 } };
	unsigned char rec[128];
	size_t n = make_record(rec, &hdr, "alicesecret", 11), i;
	struct privsep_msg msg;
	const char *error;

	for (i = 0; i < n; i++) {
		ck_assert_msg(privsep_msg_decode(rec, i, &msg, &error) < 0, "prefix %zu", i);
		privsep_msg_free(&msg);
	}
	ck_assert_int_eq(privsep_msg_decode(rec, n, &msg, &error), 0);
	ck_assert_str_eq(msg.field[0], "alice");
	ck_assert_str_eq(msg.field[1], "secret");
	ck_assert_ptr_null(msg.field[2]);
	privsep_msg_free(&msg);
}
END_TEST

/* Encode then decode: fields, NULLs, lengths and the header survive. */
START_TEST(test_round_trip)
{
	struct privsep_msg in, out;
	unsigned char *data;
	size_t size;
	const char *error;

	memset(&in, 0, sizeof(in));
	in.hdr.type = PRIVSEP_SASL_STEP_REPLY;
	in.hdr.result = VIMAP_SASL_CONTINUE;
	in.hdr.id = 0x1122334455667788ULL;
	in.hdr.handle = 42;
	in.hdr.gen = 7;
	in.field[0] = "\0chal\0";
	in.len[0] = 6;
	in.field[1] = NULL;            /* no user yet */
	in.field[2] = "";              /* an empty reason is not NULL */
	in.len[2] = 0;
	ck_assert_int_eq(privsep_msg_encode(&in, &data, &size, &error), 0);
	ck_assert_uint_eq(size, sizeof(struct privsep_hdr) + 6);
	ck_assert_int_eq(privsep_msg_decode(data, size, &out, &error), 0);
	free(data);
	ck_assert_uint_eq(out.hdr.id, in.hdr.id);
	ck_assert_uint_eq(out.hdr.handle, 42);
	ck_assert_uint_eq(out.hdr.gen, 7);
	ck_assert_int_eq(out.hdr.result, VIMAP_SASL_CONTINUE);
	ck_assert_uint_eq(out.len[0], 6);
	ck_assert_int_eq(memcmp(out.field[0], "\0chal\0", 6), 0);
	ck_assert_ptr_null(out.field[1]);
	ck_assert_ptr_nonnull(out.field[2]);
	ck_assert_str_eq(out.field[2], "");
	privsep_msg_free(&out);
	ck_assert_ptr_null(out.buf);
}
END_TEST

struct encode_case {
	const char *what;
	uint32_t type;
	int32_t result;
	const char *f0, *f1;
	size_t len0, len1;
	int ok;
};

static char long_text[PRIVSEP_TEXT_MAX + 2];

static const struct encode_case encode_cases[] = {
	/* a good request */
	{ "verify", PRIVSEP_VERIFY, 0, "alice", "pw", 5, 2, 0 },
	/* the sender refuses what the receiver would refuse: */
	/* a password longer than the catalogue allows */
	{ "long password", PRIVSEP_VERIFY, 0, "alice", long_text, 5, PRIVSEP_TEXT_MAX + 1, -1 },
	/* a NUL in a user id */
	{ "NUL in user", PRIVSEP_VERIFY, 0, "al\0ce", "pw", 5, 2, -1 },
	/* a missing user id */
	{ "NULL user", PRIVSEP_VERIFY, 0, NULL, "pw", 0, 2, -1 },
	/* a result out of the type's range */
	{ "bad result", PRIVSEP_SASL_STEP_REPLY, 3, NULL, NULL, 0, 0, -1 },
	/* an unknown type */
	{ "unknown type", 999, 0, NULL, NULL, 0, 0, -1 },
};

START_TEST(test_encode_table)
{
	const struct encode_case *c = &encode_cases[_i];
	struct privsep_msg msg;
	unsigned char *data = NULL;
	size_t size;
	const char *error;
	int ret;

	memset(long_text, 'x', sizeof(long_text) - 1);
	memset(&msg, 0, sizeof(msg));
	msg.hdr.type = c->type;
	msg.hdr.result = c->result;
	msg.field[0] = c->f0;
	msg.len[0] = c->len0;
	msg.field[1] = c->f1;
	msg.len[1] = c->len1;
	ret = privsep_msg_encode(&msg, &data, &size, &error);
	ck_assert_msg(ret == c->ok, "%s: %d", c->what, ret);
	free(data);
}
END_TEST

/* Over a real SOCK_SEQPACKET pair: one record per message, a record too
   long is refused with its header kept, end of file is 0. */
START_TEST(test_send_recv)
{
	unsigned char *buf = malloc(PRIVSEP_MSG_MAX + 1), *big;
	struct privsep_hdr hdr = { PRIVSEP_VERIFY, 0, 1, 0, 99, 0,
				   { 5, (uint32_t)PRIVSEP_MSG_MAX, 0, 0 } };
	struct privsep_msg msg;
	const char *error;
	int sv[2], size = 1 << 20;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	memset(&msg, 0, sizeof(msg));
	msg.hdr.type = PRIVSEP_SCRAM_SECRET;
	msg.hdr.id = 5;
	msg.field[0] = "bob";
	msg.len[0] = 3;
	ck_assert_int_eq(privsep_msg_send(sv[0], &msg, &error), 0);
	ck_assert_int_eq(privsep_msg_send(sv[0], &msg, &error), 0);
	/* two records, never merged */
	ck_assert_int_eq(privsep_msg_recv(sv[1], buf, &msg, &error), 1);
	ck_assert_str_eq(msg.field[0], "bob");
	privsep_msg_free(&msg);
	ck_assert_int_eq(privsep_msg_recv(sv[1], buf, &msg, &error), 1);
	privsep_msg_free(&msg);
	/* a record longer than PRIVSEP_MSG_MAX */
	big = calloc(1, PRIVSEP_MSG_MAX + 100);
	memcpy(big, &hdr, sizeof(hdr));
	ck_assert_int_eq(send(sv[0], big, PRIVSEP_MSG_MAX + 100, 0), PRIVSEP_MSG_MAX + 100);
	ck_assert_int_eq(privsep_msg_recv(sv[1], buf, &msg, &error), -2);
	ck_assert_uint_eq(msg.hdr.id, 99);
	ck_assert_ptr_nonnull(strstr(error, "longer than"));
	free(big);
	close(sv[0]);
	ck_assert_int_eq(privsep_msg_recv(sv[1], buf, &msg, &error), 0);
	close(sv[1]);
	free(buf);
}
END_TEST

/* ---- the auth process, with the build's cp plugin ---- */

struct auth_fixture {
	char dir[64];
	struct vimap_config *cfg;
	int fd;
	pid_t pid;
	unsigned char *buf;
};

static void auth_fixture_start(struct auth_fixture *fx)
{
	char path[128], users[128];
	const char *error;
	struct privsep_msg hello;
	FILE *f;
	int sv[2];

	strcpy(fx->dir, "/tmp/check-privsep-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx->dir));
	snprintf(users, sizeof(users), "%s/users", fx->dir);
	f = fopen(users, "w");
	fputs("alice:{PLAIN}secret\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/vimap.yaml", fx->dir);
	f = fopen(path, "w");
	fprintf(f, "filepoolid: %s/store\nbadfileid: %s/bad\nplugin_dir: %s\n"
		"authenticate: cp\nplugins:\n  cp:\n    directory: %s\n",
		fx->dir, fx->dir, PLUGIN_BUILD_DIR, users);
	fclose(f);
	ck_assert_msg(config_load(path, &fx->cfg, &error) == 0, "%s", error);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fx->pid = fork();
	if (fx->pid == 0) {
		close(sv[0]);
		privsep_auth_main(fx->cfg, sv[1], 1);
	}
	close(sv[1]);
	fx->fd = sv[0];
	fx->buf = malloc(PRIVSEP_MSG_MAX + 1);
	ck_assert_int_eq(privsep_msg_recv(fx->fd, fx->buf, &hello, &error), 1);
	ck_assert_uint_eq(hello.hdr.type, PRIVSEP_HELLO);
	ck_assert_int_eq(hello.hdr.result, 0);
	ck_assert_uint_eq(hello.hdr.gen, 1);
	ck_assert_uint_eq(hello.hdr.flags & PRIVSEP_HAS_VERIFY, PRIVSEP_HAS_VERIFY);
	ck_assert_str_eq(hello.field[0], "cp");
	privsep_msg_free(&hello);
}

/* Closing the channel ends the auth process with status 0. */
static void auth_fixture_stop(struct auth_fixture *fx)
{
	char cmd[96];
	int status;

	close(fx->fd);
	ck_assert_int_eq(waitpid(fx->pid, &status, 0), fx->pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	config_free(&fx->cfg);
	free(fx->buf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Sends `req` and returns the reply's type (the reply in *reply_r). */
static uint32_t auth_ask(struct auth_fixture *fx, struct privsep_msg *req,
			 struct privsep_msg *reply_r)
{
	const char *error;

	ck_assert_msg(privsep_msg_send(fx->fd, req, &error) == 0, "%s", error);
	ck_assert_int_eq(privsep_msg_recv(fx->fd, fx->buf, reply_r, &error), 1);
	ck_assert_uint_eq(reply_r->hdr.id, req->hdr.id);
	return reply_r->hdr.type;
}

struct auth_case {
	const char *what;
	uint32_t type, gen;
	uint64_t handle;
	const char *f0, *f1;
	uint32_t reply_type;
	int32_t result;
};

static const struct auth_case auth_cases[] = {
	/* the right password */
	{ "verify ok", PRIVSEP_VERIFY, 1, 0, "alice", "secret", PRIVSEP_VERIFY_REPLY,
	  VIMAP_AUTH_OK },
	/* a wrong one */
	{ "verify denied", PRIVSEP_VERIFY, 1, 0, "alice", "nope", PRIVSEP_VERIFY_REPLY,
	  VIMAP_AUTH_DENIED },
	/* no such user */
	{ "verify unknown", PRIVSEP_VERIFY, 1, 0, "mallory", "x", PRIVSEP_VERIFY_REPLY,
	  VIMAP_AUTH_DENIED },
	/* stamped for another generation: not run */
	{ "stale generation", PRIVSEP_VERIFY, 2, 0, "alice", "secret", PRIVSEP_REFUSED, 0 },
	/* PLAIN is the kernel's, not the plugin's: cp has no mechanisms */
	{ "mechanism not the plugin's", PRIVSEP_SASL_START, 1, 0, "PLAIN", "127.0.0.1",
	  PRIVSEP_REFUSED, 0 },
	/* an exchange that was never started */
	{ "unknown exchange step", PRIVSEP_SASL_STEP, 1, 12345, "x", NULL, PRIVSEP_REFUSED, 0 },
	{ "unknown exchange end", PRIVSEP_SASL_END, 1, 12345, NULL, NULL, PRIVSEP_REFUSED, 0 },
	/* a reply type sent as a request */
	{ "reply as request", PRIVSEP_VERIFY_REPLY, 1, 0, NULL, NULL, PRIVSEP_REFUSED, 0 },
	/* HELLO from vimapd's side */
	{ "hello as request", PRIVSEP_HELLO, 1, 0, "a", "b", PRIVSEP_REFUSED, 0 },
};

START_TEST(test_auth_process_requests)
{
	struct auth_fixture fx;
	unsigned i;

	auth_fixture_start(&fx);
	for (i = 0; i < sizeof(auth_cases) / sizeof(auth_cases[0]); i++) {
		const struct auth_case *c = &auth_cases[i];
		struct privsep_msg req, reply;

		memset(&req, 0, sizeof(req));
		req.hdr.type = c->type;
		req.hdr.gen = c->gen;
		req.hdr.id = 100 + i;
		req.hdr.handle = c->handle;
		req.field[0] = c->f0;
		req.len[0] = c->f0 != NULL ? strlen(c->f0) : 0;
		req.field[1] = c->f1;
		req.len[1] = c->f1 != NULL ? strlen(c->f1) : 0;
		if (c->type == PRIVSEP_HELLO)
			req.field[2] = req.field[3] = "";
		ck_assert_msg(auth_ask(&fx, &req, &reply) == c->reply_type, "%s: got %s",
			      c->what, privsep_msg_type_name(reply.hdr.type));
		ck_assert_msg(reply.hdr.result == c->result, "%s: result %d", c->what,
			      (int)reply.hdr.result);
		privsep_msg_free(&reply);
	}
	auth_fixture_stop(&fx);
}
END_TEST

/* Malformed records get REFUSED naming the request; the process goes on. */
START_TEST(test_auth_process_malformed)
{
	struct privsep_hdr bad = { PRIVSEP_VERIFY, 0, 1, 0, 77, 0, { 5, 500, 0, 0 } };
	struct privsep_msg reply, req;
	struct auth_fixture fx;
	unsigned char rec[128];
	const char *error;
	size_t n;

	auth_fixture_start(&fx);
	n = make_record(rec, &bad, "alicesecret", 11);
	ck_assert_int_eq(send(fx.fd, rec, n, 0), (ssize_t)n);
	ck_assert_int_eq(privsep_msg_recv(fx.fd, fx.buf, &reply, &error), 1);
	ck_assert_uint_eq(reply.hdr.type, PRIVSEP_REFUSED);
	ck_assert_uint_eq(reply.hdr.id, 77);
	ck_assert_ptr_nonnull(strstr(reply.field[0], "overruns"));
	privsep_msg_free(&reply);
	/* a record shorter than a header */
	ck_assert_int_eq(send(fx.fd, "tiny", 4, 0), 4);
	ck_assert_int_eq(privsep_msg_recv(fx.fd, fx.buf, &reply, &error), 1);
	ck_assert_uint_eq(reply.hdr.type, PRIVSEP_REFUSED);
	privsep_msg_free(&reply);
	/* still serving */
	memset(&req, 0, sizeof(req));
	req.hdr.type = PRIVSEP_VERIFY;
	req.hdr.gen = 1;
	req.hdr.id = 78;
	req.field[0] = "alice";
	req.len[0] = 5;
	req.field[1] = "secret";
	req.len[1] = 6;
	ck_assert_uint_eq(auth_ask(&fx, &req, &reply), PRIVSEP_VERIFY_REPLY);
	ck_assert_int_eq(reply.hdr.result, VIMAP_AUTH_OK);
	privsep_msg_free(&reply);
	auth_fixture_stop(&fx);
}
END_TEST

/* Requests in flight at once all get their own reply. */
START_TEST(test_auth_process_pipelined)
{
	struct auth_fixture fx;
	struct privsep_msg req, reply;
	const char *error;
	int seen[20] = { 0 };
	unsigned i;

	auth_fixture_start(&fx);
	for (i = 0; i < 20; i++) {
		memset(&req, 0, sizeof(req));
		req.hdr.type = PRIVSEP_VERIFY;
		req.hdr.gen = 1;
		req.hdr.id = i;
		req.field[0] = "alice";
		req.len[0] = 5;
		req.field[1] = i % 2 ? "secret" : "wrong";
		req.len[1] = strlen(req.field[1]);
		ck_assert_int_eq(privsep_msg_send(fx.fd, &req, &error), 0);
	}
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(privsep_msg_recv(fx.fd, fx.buf, &reply, &error), 1);
		ck_assert_uint_lt(reply.hdr.id, 20);
		ck_assert_int_eq(reply.hdr.result,
				 reply.hdr.id % 2 ? VIMAP_AUTH_OK : VIMAP_AUTH_DENIED);
		seen[reply.hdr.id]++;
		privsep_msg_free(&reply);
	}
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(seen[i], 1);
	auth_fixture_stop(&fx);
}
END_TEST

static Suite *privsep_suite(void)
{
	Suite *s = suite_create("privsep");
	TCase *tc = tcase_create("msg");
	TCase *ta = tcase_create("auth-process");

	tcase_add_loop_test(tc, test_decode_table, 0,
			    sizeof(decode_cases) / sizeof(decode_cases[0]));
	tcase_add_test(tc, test_decode_truncated);
	tcase_add_test(tc, test_round_trip);
	tcase_add_loop_test(tc, test_encode_table, 0,
			    sizeof(encode_cases) / sizeof(encode_cases[0]));
	tcase_add_test(tc, test_send_recv);
	suite_add_tcase(s, tc);
	tcase_set_timeout(ta, 30);
	tcase_add_test(ta, test_auth_process_requests);
	tcase_add_test(ta, test_auth_process_malformed);
	tcase_add_test(ta, test_auth_process_pipelined);
	suite_add_tcase(s, ta);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(privsep_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? 1 : 0;
}
