#include "autoconfig.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <vimap/auth.h>
#include "auth-proxy.h"
#include "error.h"
#include "loader.h"
#include "log.h"
#include "privsep-msg.h"
#include "xalloc.h"

/* A request the auth process does not answer in this time fails (the
   plugin may block that long: a slow PAM stack, an external program). */
#define AUTH_PROXY_TIMEOUT_MS 120000
/* The plugin's mechanisms vimapd offers at most. */
#define AUTH_PROXY_MAX_MECHS 32

/* One request waiting for its reply. */
struct auth_proxy_call {
	uint64_t id;
	uint32_t gen;
	int done;
	const char *failure;             /* static: why no reply will come */
	struct privsep_msg reply;        /* decoded, when done without failure */
	pthread_cond_t cond;
	struct auth_proxy_call *next;
};

/* The proxy's per-exchange state. */
struct auth_proxy_exch {
	uint64_t handle;
	uint32_t gen;
	struct privsep_msg reply;        /* the last step's: out, user, reason */
	char reason[128];
};

static struct {
	int fd;
	int running;                     /* the reader thread runs */
	pthread_t reader;
	pthread_mutex_t lock;            /* guards what follows */
	struct auth_proxy_call *calls;
	uint64_t next_id;
	uint32_t gen;                    /* the auth process's, when up */
	int up;                          /* it said HELLO and did not die since */
	int stopping;                    /* auth_proxy_stop() runs */
	uint32_t flags;                  /* PRIVSEP_HAS_* of the first HELLO */
	char *name, *version;
	char **mechs;                    /* NULL-terminated */
	struct vimap_auth_ops ops;
	struct vimap_plugin desc;
} proxy = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* Reasons handed to the kernel: valid until this thread's next call. */
static __thread char auth_proxy_reason[256];

static const char *auth_proxy_keep_reason(const void *text, const char *def)
{
	snprintf(auth_proxy_reason, sizeof(auth_proxy_reason), "%s",
		 text != NULL ? (const char *)text : def);
	return auth_proxy_reason;
}

/* ---- calls ---- */

static void auth_proxy_unlink(struct auth_proxy_call *call)
{
	struct auth_proxy_call **pp;

	for (pp = &proxy.calls; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == call) {
			*pp = call->next;
			return;
		}
	}
}

/* With the lock held: ends every call waiting for generation `gen` (or
   all of them, gen 0) with `failure`. */
static void auth_proxy_fail_calls(uint32_t gen, const char *failure)
{
	struct auth_proxy_call **pp = &proxy.calls;

	while (*pp != NULL) {
		struct auth_proxy_call *call = *pp;

		if (gen != 0 && call->gen != gen) {
			pp = &call->next;
			continue;
		}
		*pp = call->next;
		call->failure = failure;
		call->done = 1;
		pthread_cond_signal(&call->cond);
	}
}

/* Registers the call, stamped with the current generation; -1 when the
   auth process is not up. */
static int auth_proxy_register(struct auth_proxy_call *call, struct privsep_msg *req)
{
	memset(call, 0, sizeof(*call));
	pthread_mutex_lock(&proxy.lock);
	if (!proxy.up) {
		pthread_mutex_unlock(&proxy.lock);
		return -1;
	}
	call->id = ++proxy.next_id;
	call->gen = proxy.gen;
	pthread_cond_init(&call->cond, NULL);
	call->next = proxy.calls;
	proxy.calls = call;
	pthread_mutex_unlock(&proxy.lock);
	req->hdr.id = call->id;
	req->hdr.gen = call->gen;
	return 0;
}

/* Sends `req` and waits for its reply of type `reply_type`.  0 with
   *reply_r (privsep_msg_free it), or -1 with a static log-safe reason. */
static int auth_proxy_call(struct privsep_msg *req, uint32_t reply_type,
			   struct privsep_msg *reply_r, const char **reason_r)
{
	struct auth_proxy_call call;
	struct timespec deadline;
	const char *error;
	int ret = 0;

	if (auth_proxy_register(&call, req) < 0) {
		*reason_r = "the auth process is not available";
		return -1;
	}
	if (privsep_msg_send(proxy.fd, req, &error) < 0) {
		log_error("privsep", "%s", error);
		pthread_mutex_lock(&proxy.lock);
		if (!call.done)
			auth_proxy_unlink(&call);
		call.done = 1;
		call.failure = "the request could not be sent to the auth process";
		pthread_mutex_unlock(&proxy.lock);
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += AUTH_PROXY_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&proxy.lock);
	while (!call.done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&call.cond, &proxy.lock, &deadline);
	if (!call.done) {
		auth_proxy_unlink(&call);
		call.failure = "the auth process did not answer in time";
	}
	pthread_mutex_unlock(&proxy.lock);
	pthread_cond_destroy(&call.cond);
	if (call.failure != NULL) {
		*reason_r = call.failure;
		return -1;
	}
	if (call.reply.hdr.type != reply_type) {
		*reason_r = call.reply.hdr.type == PRIVSEP_REFUSED ?
			"the auth process refused the request" :
			"the auth process answered with the wrong message";
		privsep_msg_free(&call.reply);
		return -1;
	}
	*reply_r = call.reply;
	return 0;
}

/* ---- the ops ---- */

static enum vimap_auth_result auth_proxy_verify(void *state, const char *user,
						const char *password, const char **reason_r)
{
	struct privsep_msg req, reply;
	enum vimap_auth_result res;

	(void)state;
	if (strlen(password) > PRIVSEP_TEXT_MAX || strlen(user) > PRIVSEP_TEXT_MAX) {
		*reason_r = "password too long";
		return VIMAP_AUTH_DENIED;
	}
	memset(&req, 0, sizeof(req));
	req.hdr.type = PRIVSEP_VERIFY;
	req.field[0] = user;
	req.len[0] = strlen(user);
	req.field[1] = password;
	req.len[1] = strlen(password);
	if (auth_proxy_call(&req, PRIVSEP_VERIFY_REPLY, &reply, reason_r) < 0)
		return VIMAP_AUTH_FAILED;
	res = (enum vimap_auth_result)reply.hdr.result;
	*reason_r = auth_proxy_keep_reason(reply.field[0], "unknown");
	privsep_msg_free(&reply);
	return res;
}

static enum vimap_auth_result auth_proxy_scram_secret(void *state, const char *user,
						      struct vimap_scram_secret *secret,
						      const char **reason_r)
{
	struct privsep_msg req, reply;
	enum vimap_auth_result res;

	(void)state;
	if (strlen(user) > PRIVSEP_TEXT_MAX) {
		*reason_r = "no such user";
		return VIMAP_AUTH_DENIED;
	}
	memset(&req, 0, sizeof(req));
	req.hdr.type = PRIVSEP_SCRAM_SECRET;
	req.field[0] = user;
	req.len[0] = strlen(user);
	if (auth_proxy_call(&req, PRIVSEP_SCRAM_SECRET_REPLY, &reply, reason_r) < 0)
		return VIMAP_AUTH_FAILED;
	res = (enum vimap_auth_result)reply.hdr.result;
	if (res == VIMAP_AUTH_OK) {
		/* The catalogue fixed the size; the salt length is ours to check. */
		if (reply.field[0] == NULL) {
			res = VIMAP_AUTH_FAILED;
			*reason_r = "the auth process sent no SCRAM secret";
		} else {
			memcpy(secret, reply.field[0], sizeof(*secret));
			if (secret->salt_len == 0 || secret->salt_len > VIMAP_SCRAM_SALT_MAX) {
				OPENSSL_cleanse(secret, sizeof(*secret));
				res = VIMAP_AUTH_FAILED;
				*reason_r = "the auth process sent a bad SCRAM secret";
			}
		}
	} else {
		*reason_r = auth_proxy_keep_reason(reply.field[1], "unknown");
	}
	privsep_msg_free(&reply);
	return res;
}

static int auth_proxy_sasl_start(void *state, const char *mech, const char *peer,
				 void **exch_r, const char **error_r)
{
	struct privsep_msg req, reply;
	struct auth_proxy_exch *ex;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.hdr.type = PRIVSEP_SASL_START;
	req.field[0] = mech;
	req.len[0] = strlen(mech);
	req.field[1] = peer;
	req.len[1] = strlen(peer);
	if (auth_proxy_call(&req, PRIVSEP_SASL_START_REPLY, &reply, error_r) < 0)
		return -1;
	if (reply.hdr.result < 0) {
		*error_r = auth_proxy_keep_reason(reply.field[0], "unknown");
		privsep_msg_free(&reply);
		return -1;
	}
	ex = xcalloc(1, sizeof(*ex));
	ex->handle = reply.hdr.handle;
	ex->gen = reply.hdr.gen;
	privsep_msg_free(&reply);
	*exch_r = ex;
	return 0;
}

static enum vimap_sasl_result auth_proxy_sasl_step(void *exch, const unsigned char *in,
						   size_t in_len,
						   const unsigned char **out_r,
						   size_t *out_len_r,
						   const char **user_r,
						   const char **reason_r)
{
	struct auth_proxy_exch *ex = exch;
	struct privsep_msg req;
	const char *reason;

	privsep_msg_free(&ex->reply);
	*out_r = NULL;
	*out_len_r = 0;
	*user_r = NULL;
	if (in != NULL && in_len > PRIVSEP_DATA_MAX) {
		*reason_r = "response too long";
		return VIMAP_SASL_MALFORMED;
	}
	memset(&req, 0, sizeof(req));
	req.hdr.type = PRIVSEP_SASL_STEP;
	req.hdr.handle = ex->handle;
	req.field[0] = in;
	req.len[0] = in_len;
	/* An exchange of an earlier auth process cannot go on. */
	pthread_mutex_lock(&proxy.lock);
	reason = proxy.gen != ex->gen ? "the auth process was restarted" : NULL;
	pthread_mutex_unlock(&proxy.lock);
	if (reason != NULL ||
	    auth_proxy_call(&req, PRIVSEP_SASL_STEP_REPLY, &ex->reply, &reason) < 0) {
		snprintf(ex->reason, sizeof(ex->reason), "%s", reason);
		*reason_r = ex->reason;
		return VIMAP_SASL_FAILED;
	}
	*out_r = ex->reply.field[0];
	*out_len_r = ex->reply.len[0];
	*user_r = ex->reply.field[1];
	*reason_r = ex->reply.field[2] != NULL ? ex->reply.field[2] : "unknown";
	return (enum vimap_sasl_result)ex->reply.hdr.result;
}

static void auth_proxy_sasl_end(void *exch)
{
	struct auth_proxy_exch *ex = exch;
	struct privsep_msg req, reply;
	const char *reason;
	int same;

	pthread_mutex_lock(&proxy.lock);
	same = proxy.up && proxy.gen == ex->gen;
	pthread_mutex_unlock(&proxy.lock);
	if (same) {
		memset(&req, 0, sizeof(req));
		req.hdr.type = PRIVSEP_SASL_END;
		req.hdr.handle = ex->handle;
		if (auth_proxy_call(&req, PRIVSEP_SASL_END_REPLY, &reply, &reason) == 0)
			privsep_msg_free(&reply);
	}
	privsep_msg_free(&ex->reply);
	free(ex);
}

/* ---- the reader thread ---- */

/* HELLO of a restarted auth process, or DOWN of a dead one. */
static void auth_proxy_status(const struct privsep_msg *msg)
{
	pthread_mutex_lock(&proxy.lock);
	if (msg->hdr.type == PRIVSEP_DOWN) {
		if (msg->hdr.gen == proxy.gen)
			proxy.up = 0;
		auth_proxy_fail_calls(msg->hdr.gen, "the auth process died");
	} else if (msg->hdr.result == 0 && msg->hdr.gen > proxy.gen) {
		proxy.gen = msg->hdr.gen;
		proxy.up = 1;
	}
	pthread_mutex_unlock(&proxy.lock);
	if (msg->hdr.type == PRIVSEP_DOWN)
		log_error("privsep", "the auth process (generation %u) died: logins fail "
			  "until the monitor restarts it", (unsigned)msg->hdr.gen);
	else if (msg->hdr.result != 0)
		log_error("privsep", "the restarted auth process failed: %s",
			  (const char *)msg->field[3]);
	else if (msg->hdr.flags != proxy.flags)
		log_warning("privsep", "the restarted auth plugin offers other functions: "
			    "restart vimapd to offer them");
	else
		log_info("privsep", "the auth process (generation %u) is ready",
			 (unsigned)msg->hdr.gen);
}

/* 1 when a call waits for the reply `id`. */
static int auth_proxy_waited(uint64_t id)
{
	struct auth_proxy_call *call;

	pthread_mutex_lock(&proxy.lock);
	for (call = proxy.calls; call != NULL && call->id != id; call = call->next)
		;
	pthread_mutex_unlock(&proxy.lock);
	return call != NULL;
}

/* Hands a reply (or REFUSED) to its call; 1 when one took it. */
static int auth_proxy_deliver(struct privsep_msg *msg)
{
	struct auth_proxy_call *call;

	pthread_mutex_lock(&proxy.lock);
	for (call = proxy.calls; call != NULL; call = call->next) {
		if (call->id == msg->hdr.id)
			break;
	}
	if (call != NULL) {
		auth_proxy_unlink(call);
		call->reply = *msg;
		call->done = 1;
		pthread_cond_signal(&call->cond);
	}
	pthread_mutex_unlock(&proxy.lock);
	return call != NULL;
}

static void *auth_proxy_reader(void *arg)
{
	unsigned char *buf = xmalloc(PRIVSEP_MSG_MAX + 1);
	struct privsep_msg msg;
	const char *error;
	int ret;

	(void)arg;
	while ((ret = privsep_msg_recv(proxy.fd, buf, &msg, &error)) != 0) {
		if (ret == -1) {
			log_error("privsep", "auth channel: %s", error);
			break;
		}
		if (ret == -2) {
			log_error("privsep", "malformed message from the auth side: %s", error);
			continue;
		}
		if (msg.hdr.type == PRIVSEP_HELLO || msg.hdr.type == PRIVSEP_DOWN) {
			auth_proxy_status(&msg);
		} else if (privsep_msg_is_request(msg.hdr.type)) {
			log_error("privsep", "the auth side sent a request (%s)",
				  privsep_msg_type_name(msg.hdr.type));
		} else {
			/* A refusal nobody waits for answers a call already
			   failed (its auth process died): nothing to say. */
			if (msg.hdr.type == PRIVSEP_REFUSED && auth_proxy_waited(msg.hdr.id))
				log_error("privsep", "the auth process refused a request: %s",
					  (const char *)msg.field[0]);
			if (auth_proxy_deliver(&msg))
				continue;   /* the call owns msg now */
		}
		privsep_msg_free(&msg);
	}
	free(buf);
	pthread_mutex_lock(&proxy.lock);
	proxy.up = 0;
	auth_proxy_fail_calls(0, "the auth channel is closed");
	if (!proxy.stopping)
		log_error("privsep", "the auth monitor is gone: logins fail until vimapd "
			  "is restarted");
	pthread_mutex_unlock(&proxy.lock);
	return NULL;
}

/* ---- start and stop ---- */

/* A mechanism name as AUTHENTICATE spells it. */
static int auth_proxy_mech_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > 32)
		return 0;
	for (i = 0; i < len; i++) {
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", name[i]) == NULL)
			return 0;
	}
	return 1;
}

/* The mechanisms of a HELLO ("A B C"), checked. */
static int auth_proxy_parse_mechs(const char *list, const char **error_r)
{
	unsigned n = 0;

	proxy.mechs = xcalloc(AUTH_PROXY_MAX_MECHS + 1, sizeof(*proxy.mechs));
	while (*list != '\0') {
		size_t len = strcspn(list, " ");

		if (!auth_proxy_mech_valid(list, len) || n == AUTH_PROXY_MAX_MECHS)
			return error_set(error_r, "the auth plugin's mechanism list '%.64s' is "
					 "not valid", list);
		proxy.mechs[n++] = xstrndup(list, len);
		list += len;
		if (*list == ' ' && *++list == '\0')
			return error_set(error_r, "the auth plugin's mechanism list ends in a space");
	}
	return 0;
}

/* Fills the ops table from the first HELLO. */
static int auth_proxy_hello(const struct privsep_msg *msg, const char **error_r)
{
	struct vimap_auth_ops *ops = &proxy.ops;

	if (msg->hdr.type == PRIVSEP_DOWN)
		return error_set(error_r, "the auth process died at start-up (wait status 0x%x)",
				 (unsigned)msg->hdr.result);
	if (msg->hdr.type != PRIVSEP_HELLO)
		return error_set(error_r, "the auth process sent %s instead of HELLO",
				 privsep_msg_type_name(msg->hdr.type));
	if (msg->hdr.result != 0)
		return error_set(error_r, "%s", (const char *)msg->field[3]);
	if ((msg->hdr.flags & PRIVSEP_HAS_SASL) &&
	    auth_proxy_parse_mechs(msg->field[2], error_r) < 0)
		return -1;
	proxy.flags = msg->hdr.flags;
	proxy.gen = msg->hdr.gen;
	proxy.version = xstrdup(msg->field[1]);
	memset(ops, 0, sizeof(*ops));
	ops->size = sizeof(*ops);
	if (proxy.flags & PRIVSEP_HAS_VERIFY)
		ops->verify = auth_proxy_verify;
	if (proxy.flags & PRIVSEP_HAS_SASL) {
		ops->mechanisms = (const char *const *)proxy.mechs;
		ops->sasl_start = auth_proxy_sasl_start;
		ops->sasl_step = auth_proxy_sasl_step;
		ops->sasl_end = auth_proxy_sasl_end;
	}
	if (proxy.flags & PRIVSEP_HAS_SCRAM)
		ops->scram_secret = auth_proxy_scram_secret;
	proxy.desc = (struct vimap_plugin){ VIMAP_PLUGIN_HEADER, VIMAP_PLUGIN_AUTH,
					    proxy.name, proxy.version, ops };
	return 0;
}

/* Waits for the first HELLO (or DOWN) on the channel. */
static int auth_proxy_wait_hello(int timeout_ms, const char **error_r)
{
	struct pollfd pfd = { proxy.fd, POLLIN, 0 };
	unsigned char *buf;
	struct privsep_msg msg;
	int ret;

	do {
		ret = poll(&pfd, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret == 0)
		return error_set(error_r, "the auth process did not start in %d ms", timeout_ms);
	buf = xmalloc(PRIVSEP_MSG_MAX + 1);
	ret = privsep_msg_recv(proxy.fd, buf, &msg, error_r);
	free(buf);
	if (ret == 0)
		return error_set(error_r, "the auth process closed the channel at start-up");
	if (ret < 0)
		return -1;
	ret = auth_proxy_hello(&msg, error_r);
	privsep_msg_free(&msg);
	return ret;
}

int auth_proxy_start(int fd, const char *name, int timeout_ms, const char **error_r)
{
	proxy.fd = fd;
	proxy.name = xstrdup(name);
	if (auth_proxy_wait_hello(timeout_ms, error_r) < 0)
		return -1;
	proxy.up = 1;
	if (pthread_create(&proxy.reader, NULL, auth_proxy_reader, NULL) != 0) {
		proxy.up = 0;
		return error_set(error_r, "pthread_create() failed");
	}
	proxy.running = 1;
	return 0;
}

struct vimap_plugin_ctx *auth_proxy_plugin(void)
{
	struct vimap_plugin_ctx *ctx;

	if (!proxy.running)
		return NULL;
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->name = xstrdup(proxy.name);
	ctx->path = xstrdup("(the auth process)");
	ctx->desc = &proxy.desc;
	ctx->state = &proxy;
	/* Not initialized: loader_close() calls no deinit; the handle is
	   NULL, which lt_dlclose() refuses harmlessly. */
	return ctx;
}

void auth_proxy_stop(void)
{
	char **m;

	pthread_mutex_lock(&proxy.lock);
	proxy.stopping = 1;
	proxy.up = 0;
	auth_proxy_fail_calls(0, "vimapd is stopping");
	pthread_mutex_unlock(&proxy.lock);
	if (proxy.fd >= 0)
		(void)shutdown(proxy.fd, SHUT_RDWR);
	if (proxy.running)
		pthread_join(proxy.reader, NULL);
	proxy.running = 0;
	if (proxy.fd >= 0)
		close(proxy.fd);
	proxy.fd = -1;
	for (m = proxy.mechs; m != NULL && *m != NULL; m++)
		free(*m);
	free(proxy.mechs);
	proxy.mechs = NULL;
	free(proxy.name);
	free(proxy.version);
	proxy.name = proxy.version = NULL;
}
