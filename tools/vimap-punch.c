/* vimap-punch: the MTA-side exit (the seed's IMAPCMDX).  Reads one message
 * on standard input and drops it into the reader spool as a NETDATA file
 * in EBCDIC, through the translate table vimapd uses, atomically: written
 * under a '.tmp-' name (which the spool ignores), fsync'd, renamed, and
 * the directory fsync'd.  Exit codes are sendmail's sysexits, so an MTA's
 * pipe transport defers on EX_TEMPFAIL and bounces on the others.
 * man/vimap-punch.1 documents it. */
#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include "config.h"
#include "fd-util.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "netdata.h"
#include "netdata-write.h"
#include "strbuf.h"
#include "userid.h"
#include "xlate.h"

struct punch_options {
	const char *config_path, *to, *from, *spool, *node;
};

static void punch_usage(FILE *f)
{
	fprintf(f, "usage: vimap-punch --config FILE --to USER [--from ORIGIN] "
		"[--spool DIR] [--node NODE]\n"
		"Reads a message on standard input and writes it into the reader "
		"spool as NETDATA.\n");
}

static int punch_args(int argc, char **argv, struct punch_options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "spool", required_argument, NULL, 's' },
		{ "node", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:t:f:s:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->config_path = optarg; break;
		case 't': o->to = optarg; break;
		case 'f': o->from = optarg; break;
		case 's': o->spool = optarg; break;
		case 'n': o->node = optarg; break;
		case 'h': punch_usage(stdout); exit(0);
		default: punch_usage(stderr); return -1;
		}
	}
	if (optind != argc || o->config_path == NULL || o->to == NULL) {
		punch_usage(stderr);
		return -1;
	}
	return 0;
}

/* The whole of standard input; -1 on a read error. */
static int punch_read_stdin(struct strbuf *in, uint64_t max)
{
	for (;;) {
		char *p = strbuf_reserve(in, 65536);
		ssize_t n = read(STDIN_FILENO, p, 65536);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		strbuf_commit(in, (size_t)n);
		if (in->len > max)
			return 0;
	}
}

/* NODE: the given one, else the host name's first label, upper case,
   at most 8 characters (a VM node id). */
static void punch_node(const char *given, char node[9])
{
	char host[256] = "VIMAP";
	size_t i;

	if (given == NULL && gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "VIMAP");
	if (given == NULL)
		given = host;
	for (i = 0; i < 8 && given[i] != '\0' && given[i] != '.'; i++)
		node[i] = (char)(given[i] >= 'a' && given[i] <= 'z' ? given[i] - 32 : given[i]);
	node[i] = '\0';
}

/* The longest line of the message (its INMLRECL). */
static size_t punch_max_line(const struct strbuf *in)
{
	size_t pos = 0, max = 1;

	while (pos < in->len) {
		const char *nl = memchr(in->data + pos, '\n', in->len - pos);
		size_t end = nl != NULL ? (size_t)(nl - in->data) : in->len;

		if (end - pos > max)
			max = end - pos;
		pos = end + 1;
	}
	return max;
}

static void punch_headers(struct netdata_writer *w, const struct punch_options *o,
			  const char *node, const struct strbuf *in,
			  const unsigned char *to_ebcdic)
{
	struct strbuf rec = STRBUF_INIT;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t lrecl = punch_max_line(in);

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	netdata_control_begin(&rec, NETDATA_INMR01, 0);
	netdata_unit_append_number(&rec, NETDATA_INMLRECL, NETDATA_CARD, 2);
	netdata_unit_append_text(&rec, NETDATA_INMFNODE, node, to_ebcdic);
	netdata_unit_append_text(&rec, NETDATA_INMFUID, o->from, to_ebcdic);
	netdata_unit_append_text(&rec, NETDATA_INMTNODE, node, to_ebcdic);
	netdata_unit_append_text(&rec, NETDATA_INMTUID, o->to, to_ebcdic);
	netdata_unit_append_text(&rec, NETDATA_INMFTIME, stamp, to_ebcdic);
	netdata_unit_append_number(&rec, NETDATA_INMNUMF, 1, 4);
	netdata_write_record(w, 1, rec.data, rec.len);
	netdata_control_begin(&rec, NETDATA_INMR02, 1);
	netdata_unit_append_number(&rec, NETDATA_INMSIZE, in->len, 8);
	netdata_unit_append_number(&rec, NETDATA_INMDSORG, 0x4000, 2);
	netdata_unit_append_number(&rec, NETDATA_INMLRECL, lrecl, 4);
	netdata_unit_append_text(&rec, NETDATA_INMUTILN, "INMCOPY", to_ebcdic);
	netdata_unit_append_number(&rec, NETDATA_INMRECFM, 0x4002, 2);
	netdata_unit_append(&rec, NETDATA_INMTERM, 0, NULL, NULL);
	netdata_write_record(w, 1, rec.data, rec.len);
	netdata_control_begin(&rec, NETDATA_INMR03, 0);
	netdata_unit_append_number(&rec, NETDATA_INMSIZE, in->len, 8);
	netdata_unit_append_number(&rec, NETDATA_INMDSORG, 0x4000, 2);
	netdata_unit_append_number(&rec, NETDATA_INMLRECL, lrecl, 4);
	netdata_unit_append_number(&rec, NETDATA_INMRECFM, 0x4002, 2);
	netdata_write_record(w, 1, rec.data, rec.len);
	strbuf_free(&rec);
}

/* The message as NETDATA: one data record per line (LF or CRLF ends it;
   an empty line is a zero-length record, so a line of one blank stays a
   blank), then INMR06. */
static void punch_netdata(struct netdata_writer *w, const struct punch_options *o,
			  const char *node, const struct strbuf *in,
			  const unsigned char *to_ebcdic)
{
	struct strbuf line = STRBUF_INIT;
	size_t pos = 0;

	punch_headers(w, o, node, in, to_ebcdic);
	while (pos < in->len) {
		const char *nl = memchr(in->data + pos, '\n', in->len - pos);
		size_t end = nl != NULL ? (size_t)(nl - in->data) : in->len;
		size_t stop = nl != NULL && end > pos && in->data[end - 1] == '\r' ? end - 1 : end;
		size_t i;
		char *p;

		strbuf_reset(&line);
		p = strbuf_reserve(&line, stop - pos + 1);
		for (i = pos; i < stop; i++)
			p[i - pos] = (char)to_ebcdic[(unsigned char)in->data[i]];
		strbuf_commit(&line, stop - pos);
		netdata_write_record(w, 0, line.data, line.len);
		pos = end + 1;
	}
	strbuf_reset(&line);
	netdata_control_begin(&line, NETDATA_INMR06, 0);
	netdata_write_record(w, 1, line.data, line.len);
	netdata_writer_finish(w);
	strbuf_free(&line);
}

/* Writes data into the spool under a fresh name, durably.  0, or -1 with
   a message on stderr. */
static int punch_store(const char *dir, const void *data, size_t len)
{
	char tmp[4096], final[4096];
	int fd, dfd, ok;
	time_t now = time(NULL);

	snprintf(tmp, sizeof(tmp), "%s/.tmp-punch-XXXXXX", dir);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		fprintf(stderr, "vimap-punch: mkstemp(%s) failed: %s\n", tmp, strerror(errno));
		return -1;
	}
	/* Readable by the spool's reader when vimapd runs as another user. */
	ok = fchmod(fd, 0640) == 0 && fd_write_all(fd, data, len) == 0 && fsync(fd) == 0;
	if (close(fd) < 0)
		ok = 0;
	/* The mkstemp suffix makes the name unique within the spool. */
	snprintf(final, sizeof(final), "%s/punch-%lld-%d-%s", dir, (long long)now,
		 (int)getpid(), tmp + strlen(tmp) - 6);
	if (!ok || rename(tmp, final) < 0) {
		fprintf(stderr, "vimap-punch: writing %s failed: %s\n", final, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* Once renamed the file is in the spool and will be delivered: a
	   failure now must not make the MTA send it again (a duplicate). */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0)
		fprintf(stderr, "vimap-punch: warning: fsync(%s) failed: %s (the message is "
			"in the spool)\n", dir, strerror(errno));
	if (dfd >= 0)
		close(dfd);
	return 0;
}

/* Fills in the spool directory and origin from the configuration. */
static int punch_defaults(struct punch_options *o, const struct vimap_config *cfg)
{
	const char *error;
	unsigned i;

	if (o->spool == NULL &&
	    (config_section_string(config_plugin_section(cfg, "spool"), "directory",
				   NULL, &o->spool, &error) < 0 || o->spool == NULL)) {
		fprintf(stderr, "vimap-punch: %s: no spool directory (plugins: spool: "
			"directory), and no --spool\n", cfg->path);
		return EX_TEMPFAIL;
	}
	if (o->from == NULL)
		o->from = cfg->mailoriginid[0];
	for (i = 0; i < cfg->mailoriginid_count; i++)
		if (strcasecmp(cfg->mailoriginid[i], o->from) == 0)
			return 0;
	fprintf(stderr, "vimap-punch: origin '%s' is not in mailoriginid: the spool "
		"would refuse the file\n", o->from);
	return EX_USAGE;
}

static int punch_run(struct punch_options *o, const struct vimap_config *cfg)
{
	struct strbuf in = STRBUF_INIT;
	struct netdata_writer w;
	struct xlate_table table;
	const char *error;
	char node[9];
	int ret;

	if ((ret = punch_defaults(o, cfg)) != 0)
		return ret;
	if (xlate_load(cfg, &table, &error) < 0) {
		fprintf(stderr, "vimap-punch: %s\n", error);
		return EX_TEMPFAIL;
	}
	if (punch_read_stdin(&in, cfg->max_literal) < 0) {
		fprintf(stderr, "vimap-punch: read(stdin) failed: %s\n", strerror(errno));
		ret = EX_IOERR;
	} else if (in.len > cfg->max_literal) {
		fprintf(stderr, "vimap-punch: the message is larger than max_literal "
			"(%llu)\n", (unsigned long long)cfg->max_literal);
		ret = EX_DATAERR;
	} else {
		punch_node(o->node, node);
		netdata_writer_init(&w, 0);
		punch_netdata(&w, o, node, &in, table.to_ebcdic);
		ret = punch_store(o->spool, w.out.data, w.out.len) < 0 ? EX_TEMPFAIL : EX_OK;
		netdata_writer_free(&w);
	}
	strbuf_free(&in);
	xlate_unload();
	return ret;
}

int main(int argc, char **argv)
{
	struct punch_options o;
	struct vimap_config *cfg;
	const char *error;
	char id[USERID_MAX + 1];
	int ret;

	memset(&o, 0, sizeof(o));
	if (punch_args(argc, argv, &o) < 0)
		return EX_USAGE;
	if (userid_canonical(o.to, strlen(o.to), id) < 0) {
		fprintf(stderr, "vimap-punch: '%s' is not a valid user id\n", o.to);
		return EX_NOUSER;
	}
	log_init("vimap-punch", 0, VIMAP_LOG_WARNING);
	if (config_load(o.config_path, &cfg, &error) < 0) {
		fprintf(stderr, "vimap-punch: %s\n", error);
		return EX_TEMPFAIL;
	}
	/* The xlate plugins are loaded as vimapd loads them. */
	if (loader_global_init(&error) < 0) {
		fprintf(stderr, "vimap-punch: %s\n", error);
		config_free(&cfg);
		return EX_OSERR;
	}
	host_set_config(cfg, NULL);
	ret = punch_run(&o, cfg);
	host_set_config(NULL, NULL);
	loader_global_deinit();
	config_free(&cfg);
	return ret;
}
