/* Configuration: the YAML file that carries every statement of the seed's
 * IMAP CONFIG (FILEPOOLID, BADFILEID, MAILORIGINID, TRACE, AUTHENTICATE,
 * PORT, READERTHREADS, IDLETIMEOUT, ENROLLDEFAULTS) plus vimap's own keys
 * (administrators, plugin directory, plugin selection, per-plugin sections).
 * docs/config.md documents every key. */
#ifndef VIMAP_CONFIG_H
#define VIMAP_CONFIG_H

#include <stdint.h>
#include <vimap/host.h>

#define CONFIG_MAX_ORIGINS 32

struct config_section; /* one plugin's section: opaque */

/* When a plaintext password needs TLS (`tls: require`). */
enum config_tls_require {
	CONFIG_TLS_REQUIRE_NON_LOOPBACK, /* except from loopback addresses */
	CONFIG_TLS_REQUIRE_ALWAYS,
	CONFIG_TLS_REQUIRE_NEVER
};

struct vimap_config {
	char *path;                  /* the file it was read from */

	/* The seed's statements. */
	char *filepoolid;            /* FILEPOOLID: required */
	char *badfileid;             /* BADFILEID: required */
	char **mailoriginid;         /* MAILORIGINID: 1..32 ids, default {"SMTP"} */
	unsigned mailoriginid_count;
	unsigned trace;              /* TRACE: enum vimap_trace_class bits */
	char *trace_socketio_address;/* TRACE SOCKETIO ipaddr, NULL = all */
	char *authenticate;          /* AUTHENTICATE: "cp", "esm" or an exit name */
	unsigned port;               /* PORT: default 143 */
	unsigned readerthreads;      /* READERTHREADS: default 1 */
	unsigned idle_unauth;        /* IDLETIMEOUT first: default 60 (s) */
	unsigned idle_auth;          /* IDLETIMEOUT second: 0 = infinite, else >= 1800 */
	unsigned enroll_blocks;      /* ENROLLDEFAULTS first: default 100 */
	unsigned enroll_storage_group; /* ENROLLDEFAULTS second: default 2 */

	/* vimap's own. */
	char **administrators;       /* $SERVER$ NAMES VMIPC list: user names */
	unsigned administrators_count;
	char *listen_address;        /* default "0.0.0.0" */
	char *plugin_dir;            /* default PKGLIBDIR */
	char *storage;               /* storage plugin, default "localfs" */
	char **delivery;             /* delivery source plugins, default none */
	unsigned delivery_count;
	char **xlate;                /* xlate plugins asked, in order; default
					tcpxlbin, iconv, builtin */
	unsigned xlate_count;
	char *xlate_table;           /* translate table name, NULL = look-up order */
	unsigned io_threads;         /* 0 = one per CPU */
	unsigned worker_threads;     /* default 8 */
	uint64_t max_literal;        /* bytes, default 64 MiB */
	char *log_target;            /* "stderr" or "syslog", default "stderr" */
	enum vimap_log_level log_level; /* default VIMAP_LOG_INFO */
	char *admin_socket;          /* default RUNSTATEDIR "/vimap/admin.sock" */
	int admin_cp;                /* the admin CP command may run host commands; default 0 */

	/* tls: TLS is offered when tls_certificate is set. */
	char *tls_certificate;       /* PEM certificate (chain), NULL = no TLS */
	char *tls_key;               /* PEM private key, default the certificate file */
	char *tls_ca;                /* PEM intermediate CA certificates sent along, or NULL */
	char *tls_ciphers;           /* OpenSSL cipher list for TLS 1.2, NULL = OpenSSL's */
	unsigned tls_min_version;    /* 0x0303 (TLS 1.2, default) or 0x0304 (TLS 1.3) */
	unsigned tls_port;           /* implicit TLS port, default 993, 0 = none */
	enum config_tls_require tls_require; /* default CONFIG_TLS_REQUIRE_NON_LOOPBACK */

	/* auth_throttle: brute-force delays (kernel/auth-throttle.h). */
	unsigned auth_throttle_base_ms; /* first delay, default 250; 0 = off */
	unsigned auth_throttle_max_ms;  /* cap, default 4000 */
	unsigned auth_throttle_window;  /* seconds a failure counts, default 300 */

	/* Privilege separation (kernel/privsep.h). */
	char *user;                  /* run as this user after binding; NULL = no separation */
	char *group;                 /* ...and this group; NULL = the user's primary group */
};

/* Reads and checks the file at `path`.  On success returns 0 and a config
   the caller owns (config_free).  On failure returns -1 with one message
   naming file, line and column ("FILE:LINE:COL: unknown key 'prot'") or,
   for a missing required statement, the file and the key. */
int config_load(const char *path, struct vimap_config **config_r,
		const char **error_r);
void config_free(struct vimap_config **config);

/* The look-up order of the seed: `explicit_path` when given (--config),
   else DIR/NAME.yaml for the server name, else DIR/vimap.yaml, where DIR
   is `dir` (normally SYSCONFDIR "/vimap").  Returns 0 and a path the caller
   frees, or -1 with an error naming every file tried. */
int config_find(const char *dir, const char *server_name,
		const char *explicit_path, char **path_r, const char **error_r);

/* The section `plugins: NAME:` of the file, or NULL when there is none.
   Valid until config_free. */
const struct config_section *config_plugin_section(const struct vimap_config *config,
						   const char *name);

/* Getters on a section (any may be passed a NULL section: then every key is
   absent).  Same contract as the host table's config_* members in
   <vimap/host.h>: 0 and the value or default, or -1 with an error naming
   file, line and column. */
int config_section_string(const struct config_section *section, const char *key,
			  const char *def, const char **value_r, const char **error_r);
int config_section_int(const struct config_section *section, const char *key,
		       long long def, long long min, long long max,
		       long long *value_r, const char **error_r);
int config_section_bool(const struct config_section *section, const char *key,
			int def, int *value_r, const char **error_r);
int config_section_check_keys(const struct config_section *section,
			      const char *const *known, const char **error_r);

#endif
