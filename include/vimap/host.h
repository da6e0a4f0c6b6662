/* vimap plugin ABI: the host table, the kernel's services to plugins.
 *
 * The kernel passes a `const struct vimap_host *` and the plugin's own
 * `struct vimap_plugin_ctx *` to the init function of every ops table.
 * Plugins never link kernel symbols; everything they need from the kernel
 * is reached through this table.  Members are only appended; a plugin that
 * wants a member newer than its ABI minor checks `host->size` first
 * (VIMAP_HOST_HAS).
 *
 * Strings handed out by the host (config values) stay valid until the
 * plugin's deinit returns.  Error strings (`error_r`) stay valid until the
 * next host call made from the same thread.  All host functions are
 * thread-safe. */
#ifndef VIMAP_HOST_H
#define VIMAP_HOST_H

#include <stdarg.h>
#include <stdint.h>
#include <vimap/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIMAP_HOST_VERSION 1

/* The kernel's record of one loaded plugin: opaque to plugins. */
struct vimap_plugin_ctx;

enum vimap_log_level {
	VIMAP_LOG_DEBUG = 0,
	VIMAP_LOG_INFO = 1,
	VIMAP_LOG_WARNING = 2,
	VIMAP_LOG_ERROR = 3
};

/* The seed's TRACE classes. */
enum vimap_trace_class {
	VIMAP_TRACE_CODEFLOW = 1 << 0,      /* module entry and exit */
	VIMAP_TRACE_SOCKLIBCALLS = 1 << 1,  /* each socket library call */
	VIMAP_TRACE_SOCKETIO = 1 << 2       /* data sent and received */
};

/* Work run on the kernel's worker pool, off the I/O threads. */
typedef void vimap_work_cb(void *arg);

#if defined(__GNUC__)
#define VIMAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VIMAP_PRINTF(f, a)
#endif

/* Results of host->deliver. */
enum vimap_deliver_result {
	VIMAP_DELIVER_OK = 0,          /* durable in the mailbox */
	VIMAP_DELIVER_NOUSER = 1,      /* the user is not enrolled */
	VIMAP_DELIVER_OVERQUOTA = 2,   /* it does not fit the user's quota */
	VIMAP_DELIVER_TEMPFAIL = 3,    /* the store is unavailable: try later */
	VIMAP_DELIVER_TOOBIG = 4,      /* larger than the server accepts */
	VIMAP_DELIVER_FAILED = 5       /* a permanent failure (error_r says) */
};

/* One message for host->deliver. */
struct vimap_delivery {
	uint32_t size;                 /* sizeof(struct vimap_delivery) as built */
	const char *user;              /* the recipient's user id, any case */
	const char *mailbox;           /* NULL or "INBOX": delivery is to INBOX */
	int fd;                        /* a regular file holding the message, CRLF
					  line ends, from offset 0; unchanged
					  during the call */
	uint64_t length;               /* its length in octets */
	int64_t internal_date;         /* seconds since the epoch; 0 = now */
	const char *source;            /* "spool", "lmtp": for the log */
	/* NULL, or an id (at most 255 bytes) that makes a repeated delivery of
	   the same message to the same user a no-op answered OK: a source
	   that may deliver again after a crash (the spool) passes the
	   identity of its file. */
	const char *delivery_id;
};

struct vimap_host {
	uint32_t version;  /* VIMAP_HOST_VERSION of the kernel */
	uint32_t size;     /* sizeof(struct vimap_host) in the kernel */

	/* Logs one line, prefixed by the plugin's name.  Follow the kernel's
	   form "call(arg) failed: reason".  Never pass a password. */
	void (*log)(struct vimap_plugin_ctx *ctx, enum vimap_log_level level,
		    const char *fmt, ...) VIMAP_PRINTF(3, 4);

	/* 1 when tracing of `cls` is on, else 0.  Cheap: call it before
	   building an expensive trace line. */
	int (*trace_enabled)(struct vimap_plugin_ctx *ctx, unsigned cls);
	/* Writes a trace line when `cls` is on. */
	void (*trace)(struct vimap_plugin_ctx *ctx, unsigned cls,
		      const char *fmt, ...) VIMAP_PRINTF(3, 4);

	/* The plugin's own configuration section (`plugins: NAME:` in the
	   configuration file).  Each getter returns 0 and the value (or the
	   default when the key is absent), or -1 with an error that names the
	   file, line and column of a value of the wrong type or range. */
	int (*config_string)(struct vimap_plugin_ctx *ctx, const char *key,
			     const char *def, const char **value_r,
			     const char **error_r);
	int (*config_int)(struct vimap_plugin_ctx *ctx, const char *key,
			  long long def, long long min, long long max,
			  long long *value_r, const char **error_r);
	int (*config_bool)(struct vimap_plugin_ctx *ctx, const char *key,
			   int def, int *value_r, const char **error_r);
	/* Refuses any key of the section not in the NULL-terminated `known`
	   list: -1 with file, line and column of the first unknown key. */
	int (*config_check_keys)(struct vimap_plugin_ctx *ctx,
				 const char *const *known, const char **error_r);

	/* Statistics counters shown by the admin STATS command as
	   "NAME.counter".  Register at init; add from any thread. */
	int (*counter_register)(struct vimap_plugin_ctx *ctx, const char *name,
				unsigned *id_r, const char **error_r);
	void (*counter_add)(struct vimap_plugin_ctx *ctx, unsigned id,
			    int64_t delta);

	/* Runs work_cb(arg) on the kernel's worker pool.  Returns 0, or -1
	   when the pool is shutting down.  `arg` is the plugin's. */
	int (*submit)(struct vimap_plugin_ctx *ctx, vimap_work_cb *work_cb,
		      void *arg, const char **error_r);

	/* A server-wide setting every plugin may need, by its configuration
	   key: "filepoolid", "badfileid", "servername"; since ABI 1.1 also
	   "mailoriginid" (the ids, one space between) and "readerthreads"
	   (decimal).  Returns the value
	   (valid for the plugin's lifetime) or NULL for an unknown key. */
	const char *(*setting)(struct vimap_plugin_ctx *ctx, const char *key);

	/* ---- since ABI 1.1: for delivery sources ---- */

	/* 1 when `user` (any case) is enrolled in the store, 0 when it is not
	   (or is no valid user id), -1 when the store cannot say now (then
	   error_r says why: answer "try later"). */
	int (*user_enrolled)(struct vimap_plugin_ctx *ctx, const char *user,
			     const char **error_r);
	/* Stores one message in a user's mailbox: the kernel parses it once,
	   appends it through the storage plugin and wakes the user's sessions
	   (IDLE sees EXISTS).  Returns VIMAP_DELIVER_OK only once the message
	   is durable.  May block: call it from the plugin's own threads or
	   from work given to submit(), never from a thread that must stay
	   responsive.  The message is read from `msg->fd` (mapped, not
	   copied into memory); the caller keeps and closes the descriptor. */
	enum vimap_deliver_result (*deliver)(struct vimap_plugin_ctx *ctx,
					     const struct vimap_delivery *msg,
					     const char **error_r);
	/* The translate table the kernel chose at start-up (the configured
	   `xlate_table`, else "imap", else "standard", else the built-in one,
	   asked of the loaded xlate plugins in that order).  Fills both
	   tables and *name_r (the table's name, valid for the plugin's
	   lifetime); 0, or -1 when no xlate plugin is loaded. */
	int (*xlate_table)(struct vimap_plugin_ctx *ctx, unsigned char to_ascii[256],
			   unsigned char to_ebcdic[256], const char **name_r,
			   const char **error_r);
	/* A storage plugin whose store is shared with other vimapd processes
	   (sfs) calls this when another process changed `mailbox` of `user`:
	   this process's sessions with it selected then sync (IDLE sees the
	   change).  `user` NULL means "anything may have changed" (say, after
	   the change feed was interrupted): every session syncs.  Any
	   thread. */
	void (*mailbox_changed)(struct vimap_plugin_ctx *ctx, const char *user,
				const char *mailbox);
};


/* True when the kernel's host table has member `m`. */
#define VIMAP_HOST_HAS(host, m) \
	((host)->size >= offsetof(struct vimap_host, m) + sizeof((host)->m))

/* The first members of every kind's ops table. */
#define VIMAP_OPS_COMMON \
	uint32_t size; /* sizeof the ops table as built */ \
	/* Sets the plugin up: reads its configuration through the host, \
	   returns 0 with its state in *state_r, or -1 with an error.  The \
	   kernel keeps `ctx` and `host` valid until deinit returns. */ \
	int (*init)(struct vimap_plugin_ctx *ctx, const struct vimap_host *host, \
		    void **state_r, const char **error_r); \
	/* Releases everything init made.  May be NULL. */ \
	void (*deinit)(void *state)

#ifdef __cplusplus
}
#endif
#endif
