/* The IMAP command parser: turns one whole command, as the reader
 * (imap-reader.h) assembled it, into its tag, name and an argument tree of
 * atoms, quoted strings, literals and parenthesised lists.  Commands then
 * read their own grammar from the tree. */
#ifndef VIMAP_IMAP_PARSER_H
#define VIMAP_IMAP_PARSER_H

#include <stddef.h>

struct pool;

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* includes NIL, numbers, flags, BODY[...]<..> */
	IMAP_ARG_QUOTED,  /* a quoted string, unescaped */
	IMAP_ARG_LITERAL, /* a literal's bytes (may hold NUL) */
	IMAP_ARG_LIST     /* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str;           /* ATOM/QUOTED/LITERAL: NUL-terminated */
	size_t len;                /* its length (without the NUL) */
	struct imap_arg *list;     /* LIST: the members */
	unsigned count;            /* LIST: how many */
};

struct imap_command_args {
	const char *tag;
	const char *name;          /* as sent; compare case-insensitively */
	struct imap_arg *args;     /* the arguments after the name */
	unsigned count;
};

/* Parses the command in buf[0..len) (ending in LF).  Strings point into
   `buf`, which it changes in place, and into `pool`: both must outlive the
   result.  Returns 1 with the result, 0 for an empty line (ignored), or -1
   with a reason; `out->tag` is set whenever a tag could be read, so a BAD
   can carry it. */
int imap_parse_command(char *buf, size_t len, struct pool *pool,
		       struct imap_command_args *out, const char **error_r);

/* 1 when `arg` is the atom `word` (case-insensitive), else 0. */
int imap_arg_is_atom(const struct imap_arg *arg, const char *word);
/* 1 when `arg` is an astring (atom, quoted or literal), else 0. */
int imap_arg_is_string(const struct imap_arg *arg);

#endif
