/* The auth process (kernel/privsep.h): root, the auth plugin, and a small
 * pool of threads that each take one request off the channel, run it and
 * send the reply.  The pool grows (up to PRIVSEP_AUTH_MAX_THREADS) when
 * every thread is busy, so one request that blocks in the plugin never
 * holds up the others.  Nothing from the channel is trusted: every record
 * is decoded against the catalogue's rules, mechanisms must be the
 * plugin's, exchanges must exist and not be busy, and the plugin's answers
 * are checked before they are sent. */
#include "autoconfig.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <vimap/auth.h>
#include "config.h"
#include "error.h"
#include "loader.h"
#include "log.h"
#include "privsep-msg.h"
#include "privsep.h"
#include "strbuf.h"
#include "userid.h"
#include "xalloc.h"

#define PRIVSEP_AUTH_MIN_THREADS 2
#define PRIVSEP_AUTH_MAX_THREADS 64
/* Open SASL exchanges at most (a client holds one at a time). */
#define PRIVSEP_AUTH_MAX_EXCHANGES 4096

struct privsep_exch {
	uint64_t handle;
	void *exch;                  /* the plugin's */
	int busy;                    /* a step or the end runs now */
	struct privsep_exch *next;
};

static struct {
	int fd;
	uint32_t gen;
	struct vimap_plugin_ctx *plugin;
	const struct vimap_auth_ops *ops;
	int has_sasl, has_scram;
	pthread_mutex_t lock;        /* guards what follows */
	unsigned threads, idle;
	struct privsep_exch *exchanges;
	unsigned exchange_count;
	uint64_t next_handle;
} pa = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- replies ---- */

static void privsep_auth_send(const struct privsep_msg *reply)
{
	const char *error;

	if (privsep_msg_send(pa.fd, reply, &error) < 0)
		log_error("auth-process", "%s", error);
}

static void privsep_auth_reply_init(struct privsep_msg *reply, const struct privsep_hdr *req,
				    uint32_t type, int32_t result)
{
	memset(reply, 0, sizeof(*reply));
	reply->hdr.type = type;
	reply->hdr.gen = pa.gen;
	reply->hdr.id = req->id;
	reply->hdr.handle = req->handle;
	reply->hdr.result = result;
}

/* A text field from the plugin: NULL stays NULL, a longer one is cut. */
static void privsep_auth_set_text(struct privsep_msg *reply, unsigned i, const char *text)
{
	reply->field[i] = text;
	reply->len[i] = text == NULL ? 0 : strnlen(text, PRIVSEP_TEXT_MAX);
}

static void privsep_auth_refuse(const struct privsep_hdr *req, const char *reason)
{
	struct privsep_msg reply;

	/* A request stamped for the previous generation is expected after a
	   restart (vimapd had sent it before it heard of the death). */
	log_msg(req->gen != 0 && req->gen < pa.gen ? VIMAP_LOG_INFO : VIMAP_LOG_WARNING,
		"auth-process", "refused request %s #%llu: %s",
		privsep_msg_type_name(req->type), (unsigned long long)req->id, reason);
	privsep_auth_reply_init(&reply, req, PRIVSEP_REFUSED, 0);
	privsep_auth_set_text(&reply, 0, reason);
	privsep_auth_send(&reply);
}

/* ---- exchanges ---- */

/* The exchange `handle`, marked busy; NULL with a reason. */
static struct privsep_exch *privsep_auth_exch_take(uint64_t handle, int unlink,
						   const char **reason_r)
{
	struct privsep_exch **pp, *e = NULL;

	pthread_mutex_lock(&pa.lock);
	for (pp = &pa.exchanges; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->handle == handle)
			break;
	}
	if (*pp == NULL) {
		*reason_r = "no such exchange";
	} else if ((*pp)->busy) {
		*reason_r = "the exchange is busy";
	} else {
		e = *pp;
		e->busy = 1;
		if (unlink) {
			*pp = e->next;
			pa.exchange_count--;
		}
	}
	pthread_mutex_unlock(&pa.lock);
	return e;
}

static void privsep_auth_exch_release(struct privsep_exch *e)
{
	pthread_mutex_lock(&pa.lock);
	e->busy = 0;
	pthread_mutex_unlock(&pa.lock);
}

/* The plugin's spelling of `mech`, or NULL when it is not one of its own. */
static const char *privsep_auth_mech(const char *mech)
{
	const char *const *m;

	for (m = pa.ops->mechanisms; m != NULL && *m != NULL; m++) {
		if (strcasecmp(*m, mech) == 0)
			return *m;
	}
	return NULL;
}

/* ---- requests ---- */

/* The other side is not trusted: a user id reaches the plugin (running as
   root) only when it is one. */
static int privsep_auth_valid_user(const struct privsep_msg *req)
{
	char id[USERID_MAX + 1];

	if (userid_canonical(req->field[0], strlen(req->field[0]), id) == 0)
		return 1;
	privsep_auth_refuse(&req->hdr, "not a valid user id");
	return 0;
}

static void privsep_auth_verify(const struct privsep_msg *req)
{
	const char *reason = NULL;
	struct privsep_msg reply;
	enum vimap_auth_result res;

	if (pa.ops->verify == NULL) {
		privsep_auth_refuse(&req->hdr, "the auth plugin checks no passwords");
		return;
	}
	if (!privsep_auth_valid_user(req))
		return;
	res = pa.ops->verify(pa.plugin->state, req->field[0], req->field[1], &reason);
	if (res != VIMAP_AUTH_OK && res != VIMAP_AUTH_DENIED && res != VIMAP_AUTH_FAILED) {
		res = VIMAP_AUTH_FAILED;
		reason = "the auth plugin returned an unknown result";
	}
	privsep_auth_reply_init(&reply, &req->hdr, PRIVSEP_VERIFY_REPLY, res);
	privsep_auth_set_text(&reply, 0, res == VIMAP_AUTH_OK ? NULL : reason);
	privsep_auth_send(&reply);
}

static void privsep_auth_scram(const struct privsep_msg *req)
{
	struct vimap_scram_secret secret;
	const char *reason = NULL;
	struct privsep_msg reply;
	enum vimap_auth_result res;

	if (!pa.has_scram) {
		privsep_auth_refuse(&req->hdr, "the auth plugin has no SCRAM secrets");
		return;
	}
	if (!privsep_auth_valid_user(req))
		return;
	memset(&secret, 0, sizeof(secret));
	res = pa.ops->scram_secret(pa.plugin->state, req->field[0], &secret, &reason);
	if (res == VIMAP_AUTH_OK && (secret.salt_len == 0 ||
				     secret.salt_len > VIMAP_SCRAM_SALT_MAX)) {
		res = VIMAP_AUTH_FAILED;
		reason = "the auth plugin returned a SCRAM secret with a bad salt length";
	} else if (res != VIMAP_AUTH_OK && res != VIMAP_AUTH_DENIED) {
		res = VIMAP_AUTH_FAILED;
	}
	privsep_auth_reply_init(&reply, &req->hdr, PRIVSEP_SCRAM_SECRET_REPLY, res);
	if (res == VIMAP_AUTH_OK) {
		reply.field[0] = &secret;
		reply.len[0] = sizeof(secret);
	} else {
		privsep_auth_set_text(&reply, 1, reason != NULL ? reason : "unknown");
	}
	privsep_auth_send(&reply);
	OPENSSL_cleanse(&secret, sizeof(secret));
}

static void privsep_auth_sasl_start(const struct privsep_msg *req)
{
	const char *mech = privsep_auth_mech(req->field[0]), *error = "unknown";
	struct privsep_msg reply;
	struct privsep_exch *e;
	void *exch = NULL;
	unsigned count;

	pthread_mutex_lock(&pa.lock);
	count = pa.exchange_count;
	pthread_mutex_unlock(&pa.lock);
	if (!pa.has_sasl || mech == NULL) {
		privsep_auth_refuse(&req->hdr, "not a mechanism of the auth plugin");
		return;
	}
	privsep_auth_reply_init(&reply, &req->hdr, PRIVSEP_SASL_START_REPLY, -1);
	if (count >= PRIVSEP_AUTH_MAX_EXCHANGES) {
		privsep_auth_set_text(&reply, 0, "too many exchanges at once");
	} else if (pa.ops->sasl_start(pa.plugin->state, mech, req->field[1], &exch, &error) < 0) {
		privsep_auth_set_text(&reply, 0, error != NULL ? error : "unknown");
	} else {
		e = xcalloc(1, sizeof(*e));
		e->exch = exch;
		pthread_mutex_lock(&pa.lock);
		e->handle = pa.next_handle++;
		e->next = pa.exchanges;
		pa.exchanges = e;
		pa.exchange_count++;
		pthread_mutex_unlock(&pa.lock);
		reply.hdr.handle = e->handle;
		reply.hdr.result = 0;
	}
	privsep_auth_send(&reply);
}

static void privsep_auth_sasl_step(const struct privsep_msg *req)
{
	const unsigned char *out = NULL;
	const char *user = NULL, *reason = NULL;
	struct privsep_msg reply;
	struct privsep_exch *e;
	enum vimap_sasl_result res;
	size_t out_len = 0;

	e = privsep_auth_exch_take(req->hdr.handle, 0, &reason);
	if (e == NULL) {
		privsep_auth_refuse(&req->hdr, reason);
		return;
	}
	res = pa.ops->sasl_step(e->exch, req->field[0], req->len[0], &out, &out_len,
				&user, &reason);
	if (res < VIMAP_SASL_MALFORMED || res > VIMAP_SASL_CONTINUE) {
		res = VIMAP_SASL_FAILED;
		out = NULL;
		reason = "the auth plugin returned an unknown result";
	} else if (out != NULL && out_len > PRIVSEP_DATA_MAX) {
		res = VIMAP_SASL_FAILED;
		out = NULL;
		reason = "the auth plugin's challenge is too long";
	} else if (res == VIMAP_SASL_CONTINUE && out == NULL) {
		out = (const unsigned char *)"";
		out_len = 0;
	}
	privsep_auth_reply_init(&reply, &req->hdr, PRIVSEP_SASL_STEP_REPLY, res);
	reply.field[0] = out;
	reply.len[0] = out_len;
	privsep_auth_set_text(&reply, 1, user);
	privsep_auth_set_text(&reply, 2, reason);
	privsep_auth_send(&reply);
	privsep_auth_exch_release(e);
}

static void privsep_auth_sasl_end(const struct privsep_msg *req)
{
	struct privsep_msg reply;
	struct privsep_exch *e;
	const char *reason;

	e = privsep_auth_exch_take(req->hdr.handle, 1, &reason);
	if (e == NULL) {
		privsep_auth_refuse(&req->hdr, reason);
		return;
	}
	pa.ops->sasl_end(e->exch);
	free(e);
	privsep_auth_reply_init(&reply, &req->hdr, PRIVSEP_SASL_END_REPLY, 0);
	privsep_auth_send(&reply);
}

static void privsep_auth_dispatch(const struct privsep_msg *req)
{
	if (req->hdr.gen != pa.gen) {
		privsep_auth_refuse(&req->hdr, "request for another generation of the auth process");
		return;
	}
	switch (req->hdr.type) {
	case PRIVSEP_VERIFY: privsep_auth_verify(req); break;
	case PRIVSEP_SCRAM_SECRET: privsep_auth_scram(req); break;
	case PRIVSEP_SASL_START: privsep_auth_sasl_start(req); break;
	case PRIVSEP_SASL_STEP: privsep_auth_sasl_step(req); break;
	case PRIVSEP_SASL_END: privsep_auth_sasl_end(req); break;
	default: privsep_auth_refuse(&req->hdr, "not a request"); break;
	}
}

/* ---- the pool ---- */

static void *privsep_auth_thread(void *arg);

static void privsep_auth_spawn(void)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&pa.lock);
	if (pthread_create(&t, &attr, privsep_auth_thread, NULL) == 0) {
		pa.threads++;
		pa.idle++;
	} else {
		log_error("auth-process", "pthread_create() failed");
	}
	pthread_mutex_unlock(&pa.lock);
	pthread_attr_destroy(&attr);
}

/* One request off the channel at a time; a thread that takes the last
   idle slot first starts another, so someone always listens. */
static void *privsep_auth_thread(void *arg)
{
	unsigned char *buf = xmalloc(PRIVSEP_MSG_MAX + 1);
	struct privsep_msg req;
	const char *error;
	int ret, grow;

	(void)arg;
	for (;;) {
		ret = privsep_msg_recv(pa.fd, buf, &req, &error);
		if (ret == 0)
			_exit(0);   /* vimapd closed the channel: it is stopping */
		if (ret == -1) {
			log_error("auth-process", "%s", error);
			_exit(1);
		}
		pthread_mutex_lock(&pa.lock);
		pa.idle--;
		grow = pa.idle == 0 && pa.threads < PRIVSEP_AUTH_MAX_THREADS;
		pthread_mutex_unlock(&pa.lock);
		if (grow)
			privsep_auth_spawn();
		if (ret == -2)
			privsep_auth_refuse(&req.hdr, error);
		else if (!privsep_msg_is_request(req.hdr.type))
			privsep_auth_refuse(&req.hdr, "not a request");
		else
			privsep_auth_dispatch(&req);
		privsep_msg_free(&req);
		pthread_mutex_lock(&pa.lock);
		pa.idle++;
		pthread_mutex_unlock(&pa.lock);
	}
	return NULL;
}

/* ---- start-up ---- */

/* HELLO: what the plugin implements, or why it did not load. */
static void privsep_auth_hello(const char *error)
{
	const struct vimap_plugin *desc = pa.plugin != NULL ? pa.plugin->desc : NULL;
	struct strbuf mechs = STRBUF_INIT;
	struct privsep_msg hello;
	const char *const *m;

	memset(&hello, 0, sizeof(hello));
	hello.hdr.type = PRIVSEP_HELLO;
	hello.hdr.gen = pa.gen;
	hello.hdr.result = error != NULL ? -1 : 0;
	strbuf_appends(&mechs, "");
	if (error == NULL) {
		hello.hdr.flags = (pa.ops->verify != NULL ? PRIVSEP_HAS_VERIFY : 0) |
			(pa.has_sasl ? PRIVSEP_HAS_SASL : 0) | (pa.has_scram ? PRIVSEP_HAS_SCRAM : 0);
		for (m = pa.has_sasl ? pa.ops->mechanisms : NULL; m != NULL && *m != NULL; m++)
			strbuf_appendf(&mechs, "%s%s", mechs.len > 0 ? " " : "", *m);
	}
	privsep_auth_set_text(&hello, 0, desc != NULL ? desc->name : "");
	privsep_auth_set_text(&hello, 1, desc != NULL ? desc->version : "");
	hello.len[0] = hello.len[0] > 64 ? 64 : hello.len[0];
	hello.len[1] = hello.len[1] > 256 ? 256 : hello.len[1];
	privsep_auth_set_text(&hello, 2, mechs.data);
	privsep_auth_set_text(&hello, 3, error != NULL ? error : "");
	privsep_auth_send(&hello);
	strbuf_free(&mechs);
}

static int privsep_auth_load(const struct vimap_config *cfg, const char **error_r)
{
	const struct vimap_auth_ops *ops;

	if (loader_global_init(error_r) < 0 ||
	    loader_open(cfg->plugin_dir, cfg->authenticate, VIMAP_PLUGIN_AUTH, &pa.plugin,
			error_r) < 0)
		return -1;
	if (loader_init(pa.plugin, config_plugin_section(cfg, cfg->authenticate), error_r) < 0) {
		loader_close(&pa.plugin);
		return -1;
	}
	ops = pa.ops = pa.plugin->desc->ops;
	pa.has_sasl = VIMAP_AUTH_HAS(ops, sasl_end) && ops->mechanisms != NULL &&
		ops->sasl_start != NULL && ops->sasl_step != NULL && ops->sasl_end != NULL;
	pa.has_scram = VIMAP_AUTH_HAS(ops, scram_secret) && ops->scram_secret != NULL;
	return 0;
}

void privsep_auth_main(const struct vimap_config *cfg, int fd, uint32_t gen)
{
	pid_t parent = getppid();
	const char *error;
	sigset_t set;
	unsigned i;

	(void)prctl(PR_SET_NAME, "vimap-auth", 0, 0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	pa.fd = fd;
	pa.gen = gen;
	/* Handles are not guessable across restarts. */
	if (RAND_bytes((unsigned char *)&pa.next_handle, sizeof(pa.next_handle)) != 1)
		pa.next_handle = (uint64_t)getpid() << 32;
	if (privsep_auth_load(cfg, &error) < 0) {
		log_error("auth-process", "loading auth plugin %s failed: %s",
			  cfg->authenticate, error);
		privsep_auth_hello(error);
		_exit(3);
	}
	log_info("auth-process", "auth plugin %s loaded (generation %u)", cfg->authenticate,
		 (unsigned)gen);
	privsep_auth_hello(NULL);
	for (i = 1; i < PRIVSEP_AUTH_MIN_THREADS; i++)
		privsep_auth_spawn();
	/* This thread serves too. */
	pthread_mutex_lock(&pa.lock);
	pa.threads++;
	pa.idle++;
	pthread_mutex_unlock(&pa.lock);
	privsep_auth_thread(NULL);
	_exit(1);
}
