/* The translate table for EBCDIC mail, chosen once at start-up in the seed's
 * look-up order: the configured `xlate_table`, then "imap", then
 * "standard", each asked of the loaded xlate plugins in the configured
 * order, and last the built-in table ("builtin").  The seed's IMAPMAIN did
 * the same with `IMAP TCPXLBIN`, `STANDARD TCPXLBIN` and its own table. */
#ifndef VIMAP_XLATE_H_KERNEL
#define VIMAP_XLATE_H_KERNEL

struct vimap_config;

struct xlate_table {
	unsigned char to_ascii[256];
	unsigned char to_ebcdic[256];
	char name[128];              /* "tcpxlbin:imap", "builtin:builtin", ... */
};

/* Loads the configured xlate plugins and resolves the table into `table`.
   0, or -1 with a one-line reason: a plugin that does not load, a table
   that exists but is broken (its name and what is wrong), or no table at
   all.  The plugins stay loaded until xlate_unload(). */
int xlate_load(const struct vimap_config *cfg, struct xlate_table *table,
	       const char **error_r);
void xlate_unload(void);

#endif
