#include "autoconfig.h"
/* The configuration file: libyaml composes the file into a document tree
 * (yaml_parser_load), which keeps the line and column of every node; this
 * file walks the tree, checks each statement and fills struct vimap_config.
 * The document stays alive inside the config so that each plugin reads its
 * own section (`plugins: NAME:`) later, through the config_section_*
 * getters, with the same file:line:col error messages. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <yaml.h>
#include "config.h"
#include "error.h"
#include "strbuf.h"
#include "xalloc.h"

#ifndef PKGLIBDIR
#error "PKGLIBDIR must be defined (Makefile.am passes it)"
#endif
#ifndef RUNSTATEDIR
#error "RUNSTATEDIR must be defined (Makefile.am passes it)"
#endif

/* Plugin and exit names: [a-z0-9_-]+, at most this long. */
#define CONFIG_NAME_MAX 64
/* How much of a bad value an error message quotes. */
#define CONFIG_SHOW_MAX 60

struct config_section {
	const char *path;       /* the file, owned by the config */
	yaml_document_t *doc;   /* owned by the config */
	yaml_node_t *node;      /* the section's mapping, NULL when empty */
	char *name;             /* the plugin's name */
};

/* What config_load allocates: the public struct first, so that a
   struct vimap_config pointer from config_load converts back. */
struct config_impl {
	struct vimap_config pub;
	yaml_document_t doc;
	int have_doc;
	struct config_section *sections;
	unsigned section_count;
};

/* Where the errors of one walk go. */
struct loader {
	const char *path;
	yaml_document_t *doc;
	const char **error_r;
};

/* ---- Errors ---- */

static int error_at(const struct loader *ld, const yaml_mark_t *mark,
		    const char *fmt, ...) ATTR_FORMAT(3, 4);

static int error_at(const struct loader *ld, const yaml_mark_t *mark,
		    const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_set(ld->error_r, "%s:%zu:%zu: %s", ld->path,
			 mark->line + 1, mark->column + 1, msg);
}

/* ---- Nodes ---- */

static yaml_node_t *node_get(const struct loader *ld, int index)
{
	return yaml_document_get_node(ld->doc, index);
}

/* A plain empty scalar, `~` or `null`: the same as leaving the key out. */
static int node_is_null(const yaml_node_t *node)
{
	const char *s;

	if (node == NULL)
		return 1;
	if (node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = (const char *)node->data.scalar.value;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
		strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static const char *node_kind(const yaml_node_t *node)
{
	if (node_is_null(node))
		return "nothing";
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a string";
	}
}

static const char *scalar_text(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

/* Copies a value for an error message: at most CONFIG_SHOW_MAX bytes,
   control characters shown as '?'. */
static const char *show(const char *s, char *buf, size_t size)
{
	size_t i, n = strlen(s);
	size_t max = size - 4 < CONFIG_SHOW_MAX ? size - 4 : CONFIG_SHOW_MAX;

	for (i = 0; i < n && i < max; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (n > max) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Every mapping of the document, each node once (so aliases cannot make
   the walk loop): keys must be strings, and no key may appear twice. */
static int check_mappings(const struct loader *ld)
{
	yaml_node_t *node;

	for (node = ld->doc->nodes.start; node < ld->doc->nodes.top; node++) {
		yaml_node_pair_t *p, *q;

		if (node->type != YAML_MAPPING_NODE)
			continue;
		for (p = node->data.mapping.pairs.start;
		     p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *key = node_get(ld, p->key);
			char buf[CONFIG_SHOW_MAX + 4];

			if (key->type != YAML_SCALAR_NODE)
				return error_at(ld, &key->start_mark,
						"expected a string as key, got %s",
						node_kind(key));
			for (q = node->data.mapping.pairs.start; q < p; q++) {
				yaml_node_t *prev = node_get(ld, q->key);

				if (strcmp(scalar_text(prev), scalar_text(key)) != 0)
					continue;
				return error_at(ld, &key->start_mark,
						"duplicate key '%s' (first at line %zu, column %zu)",
						show(scalar_text(key), buf, sizeof(buf)),
						prev->start_mark.line + 1,
						prev->start_mark.column + 1);
			}
		}
	}
	return 0;
}

static int name_index(const char *name, const char *const *known, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (strcmp(name, known[i]) == 0)
			return (int)i;
	}
	return -1;
}

/* The seed wrote its statements in capitals (PORT): point at the key. */
static const char *lower_case_hint(const char *name, const char *const *known,
				   size_t count, char *hint, size_t size)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (strcasecmp(name, known[i]) == 0) {
			snprintf(hint, size, " (keys are lower case: '%s')", known[i]);
			return hint;
		}
	}
	return "";
}

/* Checks that `node` is a mapping whose keys are all in `known`, and puts
   the value node of each known key in values[] (NULL when absent).  `what`
   names the mapping in messages; NULL for the top level. */
static int get_mapping(const struct loader *ld, yaml_node_t *node,
		       const char *what, const char *const *known,
		       size_t count, yaml_node_t **values)
{
	yaml_node_pair_t *p;
	char buf[CONFIG_SHOW_MAX + 4], hint[CONFIG_NAME_MAX + 48];

	memset(values, 0, count * sizeof(*values));
	if (node->type != YAML_MAPPING_NODE)
		return error_at(ld, &node->start_mark, "%s: expected a mapping, got %s",
				what, node_kind(node));
	for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *key = node_get(ld, p->key);
		const char *name = scalar_text(key);
		int i = name_index(name, known, count);

		if (i >= 0) {
			values[i] = node_get(ld, p->value);
			continue;
		}
		show(name, buf, sizeof(buf));
		return error_at(ld, &key->start_mark, "%s%sunknown key '%s'%s",
				what != NULL ? what : "", what != NULL ? ": " : "",
				buf, lower_case_hint(name, known, count, hint, sizeof(hint)));
	}
	return 0;
}

/* ---- Scalars ---- */

enum int_result { INT_OK, INT_SYNTAX, INT_RANGE };

/* Decimal digits only, a '-' only when `min` is negative, no leading zero
   (so that 0755 is never mistaken for octal); overflow is out of range. */
static enum int_result parse_integer(const char *s, long long min, long long max,
				     long long *value_r)
{
	unsigned long long mag = 0, limit = LLONG_MAX;
	int neg = 0, overflow = 0;
	long long value;

	if (*s == '-' && min < 0) {
		neg = 1;
		limit = (unsigned long long)LLONG_MAX + 1;
		s++;
	}
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return INT_SYNTAX;
	for (; *s != '\0'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (*s < '0' || *s > '9')
			return INT_SYNTAX;
		if (mag > (limit - d) / 10)
			overflow = 1;
		else
			mag = mag * 10 + d;
	}
	if (overflow)
		return INT_RANGE;
	if (neg)
		value = mag == limit ? LLONG_MIN : -(long long)mag;
	else
		value = (long long)mag;
	if (value < min || value > max)
		return INT_RANGE;
	*value_r = value;
	return INT_OK;
}

/* 1 true, 0 false, -1 neither. */
static int parse_bool(const char *s)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* A scalar's text, refusing non-scalars and embedded NUL bytes.  `expected`
   completes "WHAT: expected ..." in the message. */
static int get_scalar(const struct loader *ld, const yaml_node_t *node,
		      const char *what, const char *expected, const char **text_r)
{
	if (node->type != YAML_SCALAR_NODE)
		return error_at(ld, &node->start_mark, "%s: expected %s, got %s",
				what, expected, node_kind(node));
	if (strlen(scalar_text(node)) != node->data.scalar.length)
		return error_at(ld, &node->start_mark, "%s: contains a NUL byte", what);
	*text_r = scalar_text(node);
	return 0;
}

/* An integer in min..max; `range` replaces "MIN..MAX" in messages when
   not NULL.  A null node leaves *value_r alone. */
static int get_int(const struct loader *ld, const yaml_node_t *node, const char *what,
		   long long min, long long max, const char *range, long long *value_r)
{
	char expected[96], buf[CONFIG_SHOW_MAX + 4];
	const char *text;

	if (node_is_null(node))
		return 0;
	if (range == NULL) {
		snprintf(expected, sizeof(expected), "%lld..%lld", min, max);
		range = expected;
	}
	if (node->type != YAML_SCALAR_NODE)
		return error_at(ld, &node->start_mark, "%s: expected an integer %s, got %s",
				what, range, node_kind(node));
	if (get_scalar(ld, node, what, "an integer", &text) < 0)
		return -1;
	switch (parse_integer(text, min, max, value_r)) {
	case INT_OK:
		return 0;
	case INT_RANGE:
		return error_at(ld, &node->start_mark, "%s: %s is out of range %s",
				what, show(text, buf, sizeof(buf)), range);
	default:
		return error_at(ld, &node->start_mark, "%s: expected an integer %s, got '%s'",
				what, range, show(text, buf, sizeof(buf)));
	}
}

static int get_unsigned(const struct loader *ld, const yaml_node_t *node,
			const char *what, long long min, long long max, unsigned *value_r)
{
	long long v = *value_r;

	if (get_int(ld, node, what, min, max, NULL, &v) < 0)
		return -1;
	*value_r = (unsigned)v;
	return 0;
}

static int get_bool(const struct loader *ld, const yaml_node_t *node,
		    const char *what, int *value_r)
{
	static const char expected[] = "true or false (or yes/no, on/off)";
	char buf[CONFIG_SHOW_MAX + 4];
	const char *text;
	int b;

	if (node_is_null(node))
		return 0;
	if (get_scalar(ld, node, what, expected, &text) < 0)
		return -1;
	b = parse_bool(text);
	if (b < 0)
		return error_at(ld, &node->start_mark, "%s: expected %s, got '%s'",
				what, expected, show(text, buf, sizeof(buf)));
	*value_r = b;
	return 0;
}

/* A non-empty string into *dst (freeing the default there); a null node
   leaves the default. */
static int get_string(const struct loader *ld, const yaml_node_t *node,
		      const char *what, char **dst)
{
	const char *text;

	if (node_is_null(node))
		return 0;
	if (get_scalar(ld, node, what, "a string", &text) < 0)
		return -1;
	if (*text == '\0')
		return error_at(ld, &node->start_mark, "%s: expected a non-empty string", what);
	free(*dst);
	*dst = xstrdup(text);
	return 0;
}

static int is_ip_address(const char *s)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

static int is_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-");

	return n > 0 && s[n] == '\0' && n <= CONFIG_NAME_MAX;
}

/* A user name or origin id: no white space, control character, ':' or
   '/', and not starting with '-'. */
static int is_user_name(const char *s)
{
	const unsigned char *p;

	if (*s == '\0' || *s == '-')
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == ':' || *p == '/')
			return 0;
	}
	return 1;
}

/* ---- Lists ---- */

struct list_rule {
	unsigned min, max;          /* number of entries */
	int (*valid)(const char *s);
	const char *item;           /* "is not ITEM" */
	const char *items;          /* "at most N ITEMS" */
};

static void list_free(char ***list, unsigned *count)
{
	unsigned i;

	for (i = 0; i < *count; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*count = 0;
}

static int check_list_item(const struct loader *ld, const yaml_node_t *node,
			   const char *what, const struct list_rule *rule,
			   char **done, unsigned ndone)
{
	char buf[CONFIG_SHOW_MAX + 4];
	const char *text;
	unsigned i;

	if (node->type != YAML_SCALAR_NODE || node_is_null(node))
		return error_at(ld, &node->start_mark,
				"%s: expected a list of strings, got %s in the list",
				what, node_kind(node));
	if (get_scalar(ld, node, what, "a string", &text) < 0)
		return -1;
	if (!rule->valid(text))
		return error_at(ld, &node->start_mark, "%s: '%s' is not %s",
				what, show(text, buf, sizeof(buf)), rule->item);
	for (i = 0; i < ndone; i++) {
		if (strcmp(done[i], text) == 0)
			return error_at(ld, &node->start_mark, "%s: '%s' is listed twice",
					what, show(text, buf, sizeof(buf)));
	}
	return 0;
}

/* A list of strings, or one string as a list of one.  Replaces the
   default in *list_r on success; a null node leaves it. */
static int get_list(const struct loader *ld, yaml_node_t *node, const char *what,
		    const struct list_rule *rule, char ***list_r, unsigned *count_r)
{
	yaml_node_item_t *items = NULL;
	char **list;
	unsigned i, n;

	if (node_is_null(node))
		return 0;
	if (node->type == YAML_MAPPING_NODE)
		return error_at(ld, &node->start_mark,
				"%s: expected a list of strings, got a mapping", what);
	if (node->type == YAML_SEQUENCE_NODE) {
		items = node->data.sequence.items.start;
		n = (unsigned)(node->data.sequence.items.top - items);
	} else {
		n = 1;
	}
	if (n < rule->min)
		return error_at(ld, &node->start_mark, "%s: expected %u..%u %s, got none",
				what, rule->min, rule->max, rule->items);
	if (n > rule->max)
		return error_at(ld, &node_get(ld, items[rule->max])->start_mark,
				"%s: at most %u %s may be listed, got %u",
				what, rule->max, rule->items, n);
	list = xcalloc(n > 0 ? n : 1, sizeof(*list));
	for (i = 0; i < n; i++) {
		yaml_node_t *item = items != NULL ? node_get(ld, items[i]) : node;

		if (check_list_item(ld, item, what, rule, list, i) < 0) {
			list_free(&list, &i);
			return -1;
		}
		list[i] = xstrdup(scalar_text(item));
	}
	list_free(list_r, count_r);
	*list_r = list;
	*count_r = n;
	return 0;
}

/* ---- The statements ---- */

enum top_key {
	K_FILEPOOLID, K_BADFILEID, K_MAILORIGINID, K_TRACE, K_AUTHENTICATE,
	K_PORT, K_READERTHREADS, K_IDLETIMEOUT, K_ENROLLDEFAULTS,
	K_ADMINISTRATORS, K_LISTEN_ADDRESS, K_PLUGIN_DIR, K_STORAGE,
	K_DELIVERY, K_XLATE, K_XLATE_TABLE, K_IO_THREADS, K_WORKER_THREADS,
	K_MAX_LITERAL, K_LOG, K_ADMIN_SOCKET, K_ADMIN_CP, K_PLUGINS, K_TLS, K_AUTH_THROTTLE, K_USER, K_GROUP, K_COUNT
};

static const char *const top_names[K_COUNT] = {
	[K_FILEPOOLID] = "filepoolid", [K_BADFILEID] = "badfileid",
	[K_MAILORIGINID] = "mailoriginid", [K_TRACE] = "trace",
	[K_AUTHENTICATE] = "authenticate", [K_PORT] = "port",
	[K_READERTHREADS] = "readerthreads", [K_IDLETIMEOUT] = "idletimeout",
	[K_ENROLLDEFAULTS] = "enrolldefaults",
	[K_ADMINISTRATORS] = "administrators",
	[K_LISTEN_ADDRESS] = "listen_address", [K_PLUGIN_DIR] = "plugin_dir",
	[K_STORAGE] = "storage", [K_DELIVERY] = "delivery",
	[K_XLATE] = "xlate", [K_XLATE_TABLE] = "xlate_table", [K_IO_THREADS] = "io_threads",
	[K_WORKER_THREADS] = "worker_threads", [K_MAX_LITERAL] = "max_literal",
	[K_LOG] = "log", [K_ADMIN_SOCKET] = "admin_socket", [K_ADMIN_CP] = "admin_cp",
	[K_PLUGINS] = "plugins", [K_TLS] = "tls", [K_AUTH_THROTTLE] = "auth_throttle",
	[K_USER] = "user", [K_GROUP] = "group",
};

/* The required statements, with the seed's name and meaning. */
static const struct {
	enum top_key key;
	const char *desc;
} required[] = {
	{ K_FILEPOOLID, "FILEPOOLID: the mailstore's filepool" },
	{ K_BADFILEID, "BADFILEID: where undeliverable mail goes" },
};

static int load_trace(const struct loader *ld, yaml_node_t *node, struct vimap_config *cfg)
{
	static const char *const names[] = { "all", "codeflow", "socklibcalls", "socketio" };
	static const unsigned bits[] = {
		VIMAP_TRACE_CODEFLOW | VIMAP_TRACE_SOCKLIBCALLS | VIMAP_TRACE_SOCKETIO,
		VIMAP_TRACE_CODEFLOW, VIMAP_TRACE_SOCKLIBCALLS, VIMAP_TRACE_SOCKETIO,
	};
	yaml_node_t *v[4];
	char what[32], buf[CONFIG_SHOW_MAX + 4];
	const char *text;
	unsigned i;

	if (node_is_null(node))
		return 0;
	if (get_mapping(ld, node, "trace", names, 4, v) < 0)
		return -1;
	for (i = 0; i < 4; i++) {
		int on = 0;

		snprintf(what, sizeof(what), "trace.%s", names[i]);
		if (node_is_null(v[i]))
			continue;
		/* TRACE SOCKETIO ipaddr: an address also means on. */
		if (i == 3 && v[i]->type == YAML_SCALAR_NODE &&
		    parse_bool(scalar_text(v[i])) < 0) {
			if (get_scalar(ld, v[i], what, "a string", &text) < 0)
				return -1;
			if (!is_ip_address(text))
				return error_at(ld, &v[i]->start_mark,
						"%s: expected true, false or an IP address, got '%s'",
						what, show(text, buf, sizeof(buf)));
			cfg->trace_socketio_address = xstrdup(text);
			on = 1;
		} else if (get_bool(ld, v[i], what, &on) < 0) {
			return -1;
		}
		if (on)
			cfg->trace |= bits[i];
	}
	return 0;
}

static int load_authenticate(const struct loader *ld, yaml_node_t *node,
			     struct vimap_config *cfg)
{
	char buf[CONFIG_SHOW_MAX + 4];
	const char *text;

	if (node_is_null(node))
		return 0;
	if (get_scalar(ld, node, "authenticate", "a string", &text) < 0)
		return -1;
	free(cfg->authenticate);
	/* The seed spells them CP and ESM. */
	if (strcasecmp(text, "cp") == 0 || strcasecmp(text, "esm") == 0) {
		cfg->authenticate = xstrdup(strcasecmp(text, "cp") == 0 ? "cp" : "esm");
		return 0;
	}
	cfg->authenticate = NULL;
	if (!is_name(text))
		return error_at(ld, &node->start_mark,
				"authenticate: expected cp, esm or an exit name ([a-z0-9_-], at most %d characters), got '%s'",
				CONFIG_NAME_MAX, show(text, buf, sizeof(buf)));
	cfg->authenticate = xstrdup(text);
	return 0;
}

static int load_idletimeout(const struct loader *ld, yaml_node_t *node,
			    struct vimap_config *cfg)
{
	static const char *const names[] = { "unauthenticated", "authenticated" };
	yaml_node_t *v[2];
	long long auth = cfg->idle_auth;

	if (node_is_null(node))
		return 0;
	if (get_mapping(ld, node, "idletimeout", names, 2, v) < 0 ||
	    get_unsigned(ld, v[0], "idletimeout.unauthenticated", 1, 86400,
			 &cfg->idle_unauth) < 0 ||
	    get_int(ld, v[1], "idletimeout.authenticated", 0, 31536000,
		    "0 or 1800..31536000", &auth) < 0)
		return -1;
	if (auth > 0 && auth < 1800)
		return error_at(ld, &v[1]->start_mark,
				"idletimeout.authenticated: %lld seconds is too short: RFC 3501 section 5.4 requires at least 1800 seconds (30 minutes); use 0 for no limit",
				auth);
	cfg->idle_auth = (unsigned)auth;
	return 0;
}

static int load_enrolldefaults(const struct loader *ld, yaml_node_t *node,
			       struct vimap_config *cfg)
{
	static const char *const names[] = { "blocks", "storage_group" };
	yaml_node_t *v[2];

	if (node_is_null(node))
		return 0;
	if (get_mapping(ld, node, "enrolldefaults", names, 2, v) < 0 ||
	    get_unsigned(ld, v[0], "enrolldefaults.blocks", 1, INT_MAX,
			 &cfg->enroll_blocks) < 0 ||
	    get_unsigned(ld, v[1], "enrolldefaults.storage_group", 1, 32767,
			 &cfg->enroll_storage_group) < 0)
		return -1;
	return 0;
}

/* One of `words` (case-insensitive), stored as spelt in `words`. */
static int get_word(const struct loader *ld, const yaml_node_t *node, const char *what,
		    const char *const *words, size_t count, const char *expected, int *index_r)
{
	char buf[CONFIG_SHOW_MAX + 4];
	const char *text;
	size_t i;

	if (node_is_null(node))
		return 0;
	if (get_scalar(ld, node, what, expected, &text) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (strcasecmp(text, words[i]) == 0) {
			*index_r = (int)i;
			return 0;
		}
	}
	return error_at(ld, &node->start_mark, "%s: expected %s, got '%s'",
			what, expected, show(text, buf, sizeof(buf)));
}

static int load_log(const struct loader *ld, yaml_node_t *node, struct vimap_config *cfg)
{
	static const char *const names[] = { "target", "level" };
	static const char *const targets[] = { "stderr", "syslog" };
	/* In enum vimap_log_level order. */
	static const char *const levels[] = { "debug", "info", "warning", "error" };
	yaml_node_t *v[2];
	int target = 0, level = (int)cfg->log_level;

	if (node_is_null(node))
		return 0;
	if (get_mapping(ld, node, "log", names, 2, v) < 0 ||
	    get_word(ld, v[0], "log.target", targets, 2, "stderr or syslog", &target) < 0 ||
	    get_word(ld, v[1], "log.level", levels, 4,
		     "debug, info, warning or error", &level) < 0)
		return -1;
	free(cfg->log_target);
	cfg->log_target = xstrdup(targets[target]);
	cfg->log_level = (enum vimap_log_level)level;
	return 0;
}

static int load_address(const struct loader *ld, yaml_node_t *node,
			const char *what, char **dst)
{
	char buf[CONFIG_SHOW_MAX + 4];

	if (get_string(ld, node, what, dst) < 0)
		return -1;
	if (!is_ip_address(*dst))
		return error_at(ld, &node->start_mark, "%s: '%s' is not an IPv4 or IPv6 address",
				what, show(*dst, buf, sizeof(buf)));
	return 0;
}

static int load_socket_path(const struct loader *ld, yaml_node_t *node,
			    const char *what, char **dst)
{
	struct sockaddr_un sun;

	if (get_string(ld, node, what, dst) < 0)
		return -1;
	if (strlen(*dst) >= sizeof(sun.sun_path))
		return error_at(ld, &node->start_mark,
				"%s: the path is %zu bytes long; a Unix socket path holds at most %zu",
				what, strlen(*dst), sizeof(sun.sun_path) - 1);
	return 0;
}

static int load_plugin_name(const struct loader *ld, yaml_node_t *node,
			    const char *what, char **dst)
{
	char buf[CONFIG_SHOW_MAX + 4];

	if (get_string(ld, node, what, dst) < 0)
		return -1;
	if (!is_name(*dst))
		return error_at(ld, &node->start_mark,
				"%s: '%s' is not a plugin name ([a-z0-9_-], at most %d characters)",
				what, show(*dst, buf, sizeof(buf)), CONFIG_NAME_MAX);
	return 0;
}

static int load_plugins(const struct loader *ld, yaml_node_t *node, struct config_impl *impl)
{
	yaml_node_pair_t *p;
	char buf[CONFIG_SHOW_MAX + 4];
	size_t n;

	if (node_is_null(node))
		return 0;
	if (node->type != YAML_MAPPING_NODE)
		return error_at(ld, &node->start_mark, "plugins: expected a mapping, got %s",
				node_kind(node));
	n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	impl->sections = xcalloc(n > 0 ? n : 1, sizeof(*impl->sections));
	for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *key = node_get(ld, p->key), *value = node_get(ld, p->value);
		struct config_section *s;

		if (!is_name(scalar_text(key)))
			return error_at(ld, &key->start_mark,
					"plugins: '%s' is not a plugin name ([a-z0-9_-], at most %d characters)",
					show(scalar_text(key), buf, sizeof(buf)), CONFIG_NAME_MAX);
		if (!node_is_null(value) && value->type != YAML_MAPPING_NODE)
			return error_at(ld, &value->start_mark,
					"plugins.%s: expected a mapping, got %s",
					scalar_text(key), node_kind(value));
		s = &impl->sections[impl->section_count++];
		s->path = impl->pub.path;
		s->doc = &impl->doc;
		s->node = node_is_null(value) ? NULL : value;
		s->name = xstrdup(scalar_text(key));
	}
	return 0;
}

static int load_tls(const struct loader *ld, yaml_node_t *node, struct vimap_config *cfg)
{
	static const char *const names[] = {
		"certificate", "key", "ca", "ciphers", "min_version", "port", "require"
	};
	static const char *const versions[] = { "1.2", "1.3" };
	static const char *const requires[] = { "non-loopback", "always", "never" };
	yaml_node_t *v[7];
	int version = 0, require = (int)cfg->tls_require;

	if (node_is_null(node))
		return 0;
	if (get_mapping(ld, node, "tls", names, 7, v) < 0 ||
	    get_string(ld, v[0], "tls.certificate", &cfg->tls_certificate) < 0 ||
	    get_string(ld, v[1], "tls.key", &cfg->tls_key) < 0 ||
	    get_string(ld, v[2], "tls.ca", &cfg->tls_ca) < 0 ||
	    get_string(ld, v[3], "tls.ciphers", &cfg->tls_ciphers) < 0 ||
	    get_word(ld, v[4], "tls.min_version", versions, 2, "\"1.2\" or \"1.3\"",
		     &version) < 0 ||
	    get_unsigned(ld, v[5], "tls.port", 0, 65535, &cfg->tls_port) < 0 ||
	    get_word(ld, v[6], "tls.require", requires, 3,
		     "non-loopback, always or never", &require) < 0)
		return -1;
	cfg->tls_min_version = version == 1 ? 0x0304 : 0x0303;
	cfg->tls_require = (enum config_tls_require)require;
	if (cfg->tls_certificate == NULL && (cfg->tls_key != NULL || cfg->tls_ca != NULL))
		return error_at(ld, &node->start_mark,
				"tls: 'key' and 'ca' need 'certificate'");
	return 0;
}

/* auth_throttle: the brute-force delays (kernel/auth-throttle.h). */
static int load_auth_throttle(const struct loader *ld, yaml_node_t *node,
			      struct vimap_config *cfg)
{
	static const char *const names[] = { "base_ms", "max_ms", "window" };
	yaml_node_t *v[3];

	if (node_is_null(node))
		return 0;
	if (get_mapping(ld, node, "auth_throttle", names, 3, v) < 0 ||
	    get_unsigned(ld, v[0], "auth_throttle.base_ms", 0, 60000,
			 &cfg->auth_throttle_base_ms) < 0 ||
	    get_unsigned(ld, v[1], "auth_throttle.max_ms", 0, 600000,
			 &cfg->auth_throttle_max_ms) < 0 ||
	    get_unsigned(ld, v[2], "auth_throttle.window", 1, 86400,
			 &cfg->auth_throttle_window) < 0)
		return -1;
	return 0;
}

/* `user` and `group`: a name for getpwnam()/getgrnam() (kernel/privsep.c). */
static int load_account(const struct loader *ld, yaml_node_t *node, const char *what,
			char **dst)
{
	if (get_string(ld, node, what, dst) < 0)
		return -1;
	if (*dst != NULL && !is_user_name(*dst))
		return error_at(ld, &node->start_mark, "%s: '%s' is not an account name",
				what, *dst);
	return 0;
}

static const struct list_rule origin_rule = {
	1, CONFIG_MAX_ORIGINS, is_user_name, "a user id", "ids"
};
static const struct list_rule admin_rule = {
	0, UINT_MAX, is_user_name, "a user name", "names"
};
static const struct list_rule delivery_rule = {
	0, UINT_MAX, is_name, "a plugin name ([a-z0-9_-], at most 64 characters)", "plugins"
};

static const struct list_rule xlate_rule = {
	1, 16, is_name, "a plugin name ([a-z0-9_-], at most 64 characters)", "plugins"
};

static int load_seed_statements(const struct loader *ld, yaml_node_t **v,
				struct vimap_config *cfg)
{
	if (get_string(ld, v[K_FILEPOOLID], "filepoolid", &cfg->filepoolid) < 0 ||
	    get_string(ld, v[K_BADFILEID], "badfileid", &cfg->badfileid) < 0 ||
	    get_list(ld, v[K_MAILORIGINID], "mailoriginid", &origin_rule,
		     &cfg->mailoriginid, &cfg->mailoriginid_count) < 0 ||
	    load_trace(ld, v[K_TRACE], cfg) < 0 ||
	    load_authenticate(ld, v[K_AUTHENTICATE], cfg) < 0 ||
	    get_unsigned(ld, v[K_PORT], "port", 1, 65535, &cfg->port) < 0 ||
	    get_unsigned(ld, v[K_READERTHREADS], "readerthreads", 1, 64,
			 &cfg->readerthreads) < 0 ||
	    load_idletimeout(ld, v[K_IDLETIMEOUT], cfg) < 0 ||
	    load_enrolldefaults(ld, v[K_ENROLLDEFAULTS], cfg) < 0)
		return -1;
	return 0;
}

static int load_vimap_keys(const struct loader *ld, yaml_node_t **v,
			   struct config_impl *impl)
{
	struct vimap_config *cfg = &impl->pub;
	long long max_literal = (long long)cfg->max_literal;

	if (get_list(ld, v[K_ADMINISTRATORS], "administrators", &admin_rule,
		     &cfg->administrators, &cfg->administrators_count) < 0 ||
	    load_address(ld, v[K_LISTEN_ADDRESS], "listen_address",
			 &cfg->listen_address) < 0 ||
	    get_string(ld, v[K_PLUGIN_DIR], "plugin_dir", &cfg->plugin_dir) < 0 ||
	    load_plugin_name(ld, v[K_STORAGE], "storage", &cfg->storage) < 0 ||
	    get_list(ld, v[K_DELIVERY], "delivery", &delivery_rule,
		     &cfg->delivery, &cfg->delivery_count) < 0 ||
	    get_list(ld, v[K_XLATE], "xlate", &xlate_rule,
		     &cfg->xlate, &cfg->xlate_count) < 0 ||
	    get_string(ld, v[K_XLATE_TABLE], "xlate_table", &cfg->xlate_table) < 0 ||
	    get_unsigned(ld, v[K_IO_THREADS], "io_threads", 0, 256, &cfg->io_threads) < 0 ||
	    get_unsigned(ld, v[K_WORKER_THREADS], "worker_threads", 1, 1024,
			 &cfg->worker_threads) < 0 ||
	    get_int(ld, v[K_MAX_LITERAL], "max_literal", 1024, 4294967296LL, NULL,
		    &max_literal) < 0 ||
	    load_log(ld, v[K_LOG], cfg) < 0 ||
	    load_socket_path(ld, v[K_ADMIN_SOCKET], "admin_socket", &cfg->admin_socket) < 0 ||
	    get_bool(ld, v[K_ADMIN_CP], "admin_cp", &cfg->admin_cp) < 0 ||
	    load_plugins(ld, v[K_PLUGINS], impl) < 0 ||
	    load_tls(ld, v[K_TLS], cfg) < 0 ||
	    load_auth_throttle(ld, v[K_AUTH_THROTTLE], cfg) < 0 ||
	    load_account(ld, v[K_USER], "user", &cfg->user) < 0 ||
	    load_account(ld, v[K_GROUP], "group", &cfg->group) < 0)
		return -1;
	cfg->max_literal = (uint64_t)max_literal;
	if (cfg->tls_certificate != NULL && cfg->tls_port == cfg->port)
		return error_at(ld, &v[K_TLS]->start_mark,
				"tls.port: %u is also 'port': implicit TLS needs a port of its own",
				cfg->tls_port);
	return 0;
}

/* Names every required statement that is absent or empty. */
static int check_required(const struct loader *ld, yaml_node_t **v)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned i, missing = 0, total = 0;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		total += node_is_null(v[required[i].key]);
	if (total == 0)
		return 0;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!node_is_null(v[required[i].key]))
			continue;
		if (missing++ > 0)
			strbuf_appends(&sb, missing == total ? " and " : ", ");
		strbuf_appendf(&sb, "'%s' (%s)", top_names[required[i].key], required[i].desc);
	}
	error_set(ld->error_r, "%s: required statement%s %s %s missing", ld->path,
		  total > 1 ? "s" : "", sb.data, total > 1 ? "are" : "is");
	strbuf_free(&sb);
	return -1;
}

static void set_defaults(struct vimap_config *cfg)
{
	cfg->mailoriginid = xcalloc(1, sizeof(*cfg->mailoriginid));
	cfg->mailoriginid[0] = xstrdup("SMTP");
	cfg->mailoriginid_count = 1;
	cfg->authenticate = xstrdup("cp");
	cfg->port = 143;
	cfg->readerthreads = 1;
	cfg->idle_unauth = 60;
	cfg->idle_auth = 0;
	cfg->enroll_blocks = 100;
	cfg->enroll_storage_group = 2;
	cfg->listen_address = xstrdup("0.0.0.0");
	cfg->plugin_dir = xstrdup(PKGLIBDIR);
	cfg->storage = xstrdup("localfs");
	/* The seed's look-up order asks site table files first, then
	   code pages iconv knows, then the compiled-in table. */
	cfg->xlate = xcalloc(3, sizeof(*cfg->xlate));
	cfg->xlate[0] = xstrdup("tcpxlbin");
	cfg->xlate[1] = xstrdup("iconv");
	cfg->xlate[2] = xstrdup("builtin");
	cfg->xlate_count = 3;
	cfg->io_threads = 0;
	cfg->worker_threads = 8;
	cfg->max_literal = 64 * 1024 * 1024;
	cfg->log_target = xstrdup("stderr");
	cfg->log_level = VIMAP_LOG_INFO;
	cfg->admin_socket = xstrdup(RUNSTATEDIR "/vimap/admin.sock");
	cfg->tls_min_version = 0x0303;
	cfg->tls_port = 993;
	cfg->tls_require = CONFIG_TLS_REQUIRE_NON_LOOPBACK;
	cfg->auth_throttle_base_ms = 250;
	cfg->auth_throttle_max_ms = 4000;
	cfg->auth_throttle_window = 300;
}

static int load_root(const struct loader *ld, struct config_impl *impl)
{
	yaml_node_t *root = yaml_document_get_root_node(ld->doc);
	yaml_node_t *v[K_COUNT];

	if (root == NULL || node_is_null(root))
		return error_set(ld->error_r,
				 "%s:1:1: the file is empty: expected a mapping of statements",
				 ld->path);
	if (root->type != YAML_MAPPING_NODE)
		return error_at(ld, &root->start_mark,
				"expected a mapping of statements at the top level, got %s",
				node_kind(root));
	if (check_mappings(ld) < 0 ||
	    get_mapping(ld, root, NULL, top_names, K_COUNT, v) < 0)
		return -1;
	for (unsigned i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		yaml_node_t *r = v[required[i].key];

		/* Given but empty: say where. */
		if (r != NULL && !node_is_null(r) && r->type == YAML_SCALAR_NODE &&
		    r->data.scalar.length == 0)
			return error_at(ld, &r->start_mark, "%s: expected a non-empty string (%s)",
					top_names[required[i].key], required[i].desc);
	}
	if (check_required(ld, v) < 0 ||
	    load_seed_statements(ld, v, &impl->pub) < 0 ||
	    load_vimap_keys(ld, v, impl) < 0)
		return -1;
	return 0;
}

/* ---- Reading and parsing ---- */

static int read_file(const char *path, struct strbuf *sb, const char **error_r)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return error_set(error_r, "%s: cannot open: %s", path, strerror(errno));
	do {
		char *dst = strbuf_reserve(sb, 4096);

		n = fread(dst, 1, 4096, f);
		strbuf_commit(sb, n);
	} while (n > 0);
	if (ferror(f)) {
		int err = errno;

		fclose(f);
		return error_set(error_r, "%s: cannot read: %s", path, strerror(err));
	}
	fclose(f);
	return 0;
}

/* A reader error has only a byte offset: turn it into line and column. */
static yaml_mark_t offset_mark(const struct strbuf *sb, size_t offset)
{
	yaml_mark_t mark = { offset, 0, 0 };
	size_t i;

	for (i = 0; i < offset && i < sb->len; i++) {
		if (sb->data[i] == '\n') {
			mark.line++;
			mark.column = 0;
		} else if (((unsigned char)sb->data[i] & 0xc0) != 0x80) {
			mark.column++;
		}
	}
	return mark;
}

static int parse_error(const struct loader *ld, const yaml_parser_t *parser,
		       const struct strbuf *sb)
{
	yaml_mark_t mark;

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		return error_set(ld->error_r, "%s: out of memory while parsing", ld->path);
	case YAML_READER_ERROR:
		mark = offset_mark(sb, parser->problem_offset);
		if (parser->problem_value != -1)
			return error_at(ld, &mark, "not valid YAML text: %s (byte 0x%02x)",
					parser->problem, (unsigned)parser->problem_value);
		return error_at(ld, &mark, "not valid YAML text: %s", parser->problem);
	default:
		break;
	}
	if (parser->context != NULL)
		return error_at(ld, &parser->problem_mark,
				"YAML syntax error: %s (%s at line %zu, column %zu)",
				parser->problem, parser->context,
				parser->context_mark.line + 1, parser->context_mark.column + 1);
	return error_at(ld, &parser->problem_mark, "YAML syntax error: %s",
			parser->problem != NULL ? parser->problem : "unknown problem");
}

/* Composes the file's one document into impl->doc. */
static int parse_document(const struct loader *ld, const struct strbuf *sb,
			  struct config_impl *impl)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int ret = 0;

	if (!yaml_parser_initialize(&parser))
		return error_set(ld->error_r, "%s: yaml_parser_initialize() failed", ld->path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)sb->data, sb->len);
	if (!yaml_parser_load(&parser, &impl->doc)) {
		ret = parse_error(ld, &parser, sb);
	} else {
		impl->have_doc = 1;
		if (!yaml_parser_load(&parser, &extra)) {
			ret = parse_error(ld, &parser, sb);
		} else {
			yaml_node_t *root = yaml_document_get_root_node(&extra);

			if (root != NULL)
				ret = error_at(ld, &extra.start_mark,
					       "a second YAML document: the file must hold one");
			yaml_document_delete(&extra);
		}
	}
	yaml_parser_delete(&parser);
	return ret;
}

int config_load(const char *path, struct vimap_config **config_r,
		const char **error_r)
{
	struct config_impl *impl;
	struct strbuf sb = STRBUF_INIT;
	struct loader ld;
	struct vimap_config *cfg;

	*config_r = NULL;
	if (read_file(path, &sb, error_r) < 0) {
		strbuf_free(&sb);
		return -1;
	}
	strbuf_reserve(&sb, 0);
	impl = xcalloc(1, sizeof(*impl));
	impl->pub.path = xstrdup(path);
	set_defaults(&impl->pub);
	ld.path = impl->pub.path;
	ld.doc = &impl->doc;
	ld.error_r = error_r;
	if (parse_document(&ld, &sb, impl) < 0 || load_root(&ld, impl) < 0) {
		/* The message is already copied into the error buffer. */
		strbuf_free(&sb);
		cfg = &impl->pub;
		config_free(&cfg);
		return -1;
	}
	strbuf_free(&sb);
	*config_r = &impl->pub;
	return 0;
}

void config_free(struct vimap_config **config)
{
	struct config_impl *impl;
	struct vimap_config *cfg = *config;
	unsigned i;

	if (cfg == NULL)
		return;
	*config = NULL;
	impl = (struct config_impl *)(void *)cfg;
	for (i = 0; i < impl->section_count; i++)
		free(impl->sections[i].name);
	free(impl->sections);
	if (impl->have_doc)
		yaml_document_delete(&impl->doc);
	free(cfg->path);
	free(cfg->filepoolid);
	free(cfg->badfileid);
	list_free(&cfg->mailoriginid, &cfg->mailoriginid_count);
	free(cfg->trace_socketio_address);
	free(cfg->authenticate);
	list_free(&cfg->administrators, &cfg->administrators_count);
	free(cfg->listen_address);
	free(cfg->plugin_dir);
	free(cfg->storage);
	list_free(&cfg->delivery, &cfg->delivery_count);
	list_free(&cfg->xlate, &cfg->xlate_count);
	free(cfg->xlate_table);
	free(cfg->log_target);
	free(cfg->admin_socket);
	free(cfg->tls_certificate);
	free(cfg->tls_key);
	free(cfg->tls_ca);
	free(cfg->tls_ciphers);
	free(cfg->user);
	free(cfg->group);
	free(impl);
}

/* ---- Finding the file ---- */

/* 1 exists, 0 absent, -1 error. */
static int file_exists(const char *path, const char **error_r)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return error_set(error_r, "%s: cannot open: %s", path, strerror(EISDIR));
		return 1;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	return error_set(error_r, "%s: cannot open: %s", path, strerror(errno));
}

int config_find(const char *dir, const char *server_name,
		const char *explicit_path, char **path_r, const char **error_r)
{
	char *tried[2] = { NULL, NULL };
	unsigned n = 0, i;
	size_t dirlen;
	int ret = -1;

	*path_r = NULL;
	if (explicit_path != NULL) {
		int r = file_exists(explicit_path, error_r);

		if (r == 0)
			return error_set(error_r, "%s: cannot open: %s", explicit_path,
					 strerror(ENOENT));
		if (r < 0)
			return -1;
		*path_r = xstrdup(explicit_path);
		return 0;
	}
	if (server_name != NULL && (*server_name == '\0' || strchr(server_name, '/') != NULL))
		return error_set(error_r, "server name '%s' is not valid: it must be non-empty and contain no '/'",
				 server_name);
	if (dir == NULL)
		dir = SYSCONFDIR "/vimap";
	dirlen = strlen(dir);
	while (dirlen > 1 && dir[dirlen - 1] == '/')
		dirlen--;
	if (server_name != NULL && strcmp(server_name, "vimap") != 0)
		tried[n++] = xasprintf("%.*s/%s.yaml", (int)dirlen, dir, server_name);
	tried[n++] = xasprintf("%.*s/vimap.yaml", (int)dirlen, dir);
	for (i = 0; i < n; i++) {
		int r = file_exists(tried[i], error_r);

		if (r < 0)
			goto out;
		if (r > 0) {
			*path_r = tried[i];
			tried[i] = NULL;
			ret = 0;
			goto out;
		}
	}
	if (n == 1)
		error_set(error_r, "no configuration file found: tried %s", tried[0]);
	else
		error_set(error_r, "no configuration file found: tried %s and %s",
			  tried[0], tried[1]);
out:
	for (i = 0; i < n; i++)
		free(tried[i]);
	return ret;
}

/* ---- Plugin sections ---- */

const struct config_section *config_plugin_section(const struct vimap_config *config,
						   const char *name)
{
	const struct config_impl *impl = (const struct config_impl *)(const void *)config;
	unsigned i;

	if (config == NULL)
		return NULL;
	for (i = 0; i < impl->section_count; i++) {
		if (strcmp(impl->sections[i].name, name) == 0)
			return &impl->sections[i];
	}
	return NULL;
}

/* The value node of `key` in the section, or NULL when absent or null. */
static yaml_node_t *section_value(const struct config_section *section, const char *key,
				  struct loader *ld, const char **error_r)
{
	yaml_node_pair_t *p;

	if (section == NULL || section->node == NULL)
		return NULL;
	ld->path = section->path;
	ld->doc = section->doc;
	ld->error_r = error_r;
	for (p = section->node->data.mapping.pairs.start;
	     p < section->node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(section->doc, p->key);

		if (strcmp(scalar_text(k), key) == 0) {
			yaml_node_t *v = yaml_document_get_node(section->doc, p->value);

			return node_is_null(v) ? NULL : v;
		}
	}
	return NULL;
}

int config_section_string(const struct config_section *section, const char *key,
			  const char *def, const char **value_r, const char **error_r)
{
	struct loader ld;
	yaml_node_t *v = section_value(section, key, &ld, error_r);
	char what[2 * CONFIG_NAME_MAX + 64];

	*value_r = def;
	if (v == NULL)
		return 0;
	snprintf(what, sizeof(what), "plugins.%s.%s", section->name, key);
	return get_scalar(&ld, v, what, "a string", value_r);
}

int config_section_int(const struct config_section *section, const char *key,
		       long long def, long long min, long long max,
		       long long *value_r, const char **error_r)
{
	struct loader ld;
	yaml_node_t *v = section_value(section, key, &ld, error_r);
	char what[2 * CONFIG_NAME_MAX + 64];
	long long value = def;

	*value_r = def;
	if (v == NULL)
		return 0;
	snprintf(what, sizeof(what), "plugins.%s.%s", section->name, key);
	if (get_int(&ld, v, what, min, max, NULL, &value) < 0)
		return -1;
	*value_r = value;
	return 0;
}

int config_section_bool(const struct config_section *section, const char *key,
			int def, int *value_r, const char **error_r)
{
	struct loader ld;
	yaml_node_t *v = section_value(section, key, &ld, error_r);
	char what[2 * CONFIG_NAME_MAX + 64];
	int value = def;

	*value_r = def;
	if (v == NULL)
		return 0;
	snprintf(what, sizeof(what), "plugins.%s.%s", section->name, key);
	if (get_bool(&ld, v, what, &value) < 0)
		return -1;
	*value_r = value;
	return 0;
}

int config_section_check_keys(const struct config_section *section,
			      const char *const *known, const char **error_r)
{
	struct loader ld = { NULL, NULL, error_r };
	yaml_node_pair_t *p;
	char buf[CONFIG_SHOW_MAX + 4];

	if (section == NULL || section->node == NULL)
		return 0;
	ld.path = section->path;
	ld.doc = section->doc;
	for (p = section->node->data.mapping.pairs.start;
	     p < section->node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(section->doc, p->key);
		size_t i;

		for (i = 0; known[i] != NULL; i++) {
			if (strcmp(known[i], scalar_text(k)) == 0)
				break;
		}
		if (known[i] == NULL)
			return error_at(&ld, &k->start_mark, "plugins.%s: unknown key '%s'",
					section->name, show(scalar_text(k), buf, sizeof(buf)));
	}
	return 0;
}
