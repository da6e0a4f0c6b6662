#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "error.h"
#include "imap-parser.h"
#include "pool.h"

/* Lists nest at most this deep: bounds recursion on hostile input. */
#define IMAP_PARSER_MAX_DEPTH 32

struct imap_parser {
	char *p, *end;
	struct pool *pool;
	const char *error;
};

static int imap_parser_fail(struct imap_parser *ps, const char *error)
{
	if (ps->error == NULL)
		ps->error = error;
	return -1;
}

/* Atom characters: RFC 3501 ATOM-CHAR plus the list wildcards and "]"
   (astring, list-mailbox) and "\" for flags; "[" opens a section that may
   hold spaces and parentheses, as in BODY[HEADER.FIELDS (FROM TO)]. */
static int imap_parser_atom_char(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return 0;
	return c != '(' && c != ')' && c != '{' && c != '"';
}

static int imap_parse_atom(struct imap_parser *ps, struct imap_arg *arg)
{
	char *start = ps->p;
	int depth = 0;

	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p;

		if (c == '[') {
			depth++;
		} else if (c == ']' && depth > 0) {
			depth--;
		} else if (depth > 0) {
			if (c == '\r' || c == '\n' || c == 0)
				break;
		} else if (!imap_parser_atom_char(c)) {
			break;
		}
		ps->p++;
	}
	if (depth > 0)
		return imap_parser_fail(ps, "Missing ']'");
	if (ps->p == start)
		return imap_parser_fail(ps, "Unexpected character");
	arg->type = IMAP_ARG_ATOM;
	arg->str = pool_strndup(ps->pool, start, (size_t)(ps->p - start));
	arg->len = (size_t)(ps->p - start);
	return 0;
}

static int imap_parse_quoted(struct imap_parser *ps, struct imap_arg *arg)
{
	char *out, *start;

	ps->p++; /* the opening quote */
	start = out = ps->p;
	for (;;) {
		if (ps->p >= ps->end || *ps->p == '\r' || *ps->p == '\n')
			return imap_parser_fail(ps, "Missing '\"'");
		if (*ps->p == '"')
			break;
		if (*ps->p == '\0')
			return imap_parser_fail(ps, "NUL in quoted string");
		if (*ps->p == '\\') {
			ps->p++;
			if (ps->p >= ps->end || (*ps->p != '\\' && *ps->p != '"'))
				return imap_parser_fail(ps, "Bad escape in quoted string");
		}
		*out++ = *ps->p++;
	}
	ps->p++; /* the closing quote */
	arg->type = IMAP_ARG_QUOTED;
	arg->len = (size_t)(out - start);
	arg->str = pool_strndup(ps->pool, start, arg->len);
	return 0;
}

static int imap_parse_literal(struct imap_parser *ps, struct imap_arg *arg)
{
	char *num_end;
	unsigned long long n;

	ps->p++; /* "{" */
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return imap_parser_fail(ps, "Bad literal size");
	n = strtoull(ps->p, &num_end, 10);
	ps->p = num_end;
	if (ps->p < ps->end && *ps->p == '+')
		ps->p++;
	if (ps->end - ps->p < 3 || ps->p[0] != '}' || ps->p[1] != '\r' || ps->p[2] != '\n')
		return imap_parser_fail(ps, "Bad literal: expected '}' and CRLF");
	ps->p += 3;
	if ((unsigned long long)(ps->end - ps->p) < n)
		return imap_parser_fail(ps, "Literal shorter than announced");
	arg->type = IMAP_ARG_LITERAL;
	arg->len = (size_t)n;
	arg->str = pool_strndup(ps->pool, ps->p, arg->len);
	ps->p += n;
	return 0;
}

static int imap_parse_args(struct imap_parser *ps, int depth,
			   struct imap_arg **args_r, unsigned *count_r);

static int imap_parse_one(struct imap_parser *ps, int depth, struct imap_arg *arg)
{
	switch (*ps->p) {
	case '"':
		return imap_parse_quoted(ps, arg);
	case '{':
		return imap_parse_literal(ps, arg);
	case '(':
		if (depth >= IMAP_PARSER_MAX_DEPTH)
			return imap_parser_fail(ps, "Lists nested too deep");
		ps->p++;
		arg->type = IMAP_ARG_LIST;
		if (imap_parse_args(ps, depth + 1, &arg->list, &arg->count) < 0)
			return -1;
		if (ps->p >= ps->end || *ps->p != ')')
			return imap_parser_fail(ps, "Missing ')'");
		ps->p++;
		return 0;
	default:
		return imap_parse_atom(ps, arg);
	}
}

/* Parses space-separated arguments up to ")" or the line end. */
static int imap_parse_args(struct imap_parser *ps, int depth,
			   struct imap_arg **args_r, unsigned *count_r)
{
	struct imap_arg *args = NULL;
	unsigned count = 0, cap = 0;

	while (ps->p < ps->end && *ps->p != ')' && *ps->p != '\r' && *ps->p != '\n') {
		if (count > 0) {
			if (*ps->p != ' ')
				return imap_parser_fail(ps, "Expected a space between arguments");
			ps->p++;
			if (ps->p < ps->end && *ps->p == ' ')
				return imap_parser_fail(ps, "More than one space between arguments");
		}
		if (count == cap) {
			struct imap_arg *grown;

			cap = cap == 0 ? 4 : cap * 2;
			grown = pool_alloc(ps->pool, cap * sizeof(*grown));
			if (count > 0)
				memcpy(grown, args, count * sizeof(*grown));
			args = grown;
		}
		if (ps->p >= ps->end || imap_parse_one(ps, depth, &args[count]) < 0)
			return imap_parser_fail(ps, "Missing argument");
		count++;
	}
	*args_r = args;
	*count_r = count;
	return 0;
}

static int imap_parse_word(struct imap_parser *ps, const char **word_r)
{
	char *start = ps->p;

	while (ps->p < ps->end && imap_parser_atom_char((unsigned char)*ps->p) &&
	       *ps->p != '[' && *ps->p != ']' && *ps->p != '%' && *ps->p != '*')
		ps->p++;
	if (ps->p == start)
		return -1;
	*word_r = pool_strndup(ps->pool, start, (size_t)(ps->p - start));
	return 0;
}

static int imap_parse_line_end(struct imap_parser *ps)
{
	if (ps->p < ps->end && *ps->p == '\r')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '\n')
		ps->p++;
	return ps->p == ps->end ? 0 : -1;
}

int imap_parse_command(char *buf, size_t len, struct pool *pool,
		       struct imap_command_args *out, const char **error_r)
{
	struct imap_parser ps = { buf, buf + len, pool, NULL };

	memset(out, 0, sizeof(*out));
	if (imap_parse_line_end(&ps) == 0)
		return 0;
	if (imap_parse_word(&ps, &out->tag) < 0 || strchr(out->tag, '+') != NULL) {
		out->tag = NULL;
		return error_set(error_r, "Missing or invalid tag");
	}
	if (ps.p >= ps.end || *ps.p != ' ' || (ps.p++, imap_parse_word(&ps, &out->name) < 0))
		return error_set(error_r, "Missing command name");
	if (ps.p < ps.end && *ps.p == ' ') {
		ps.p++;
		if (imap_parse_args(&ps, 0, &out->args, &out->count) < 0)
			return error_set(error_r, "%s", ps.error);
		if (out->count == 0)
			return error_set(error_r, "Unexpected space after the command name");
	}
	if (ps.p < ps.end && *ps.p == ')')
		return error_set(error_r, "Unexpected ')'");
	if (imap_parse_line_end(&ps) < 0)
		return error_set(error_r, "Garbage after the command");
	return 1;
}

int imap_arg_is_atom(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, word) == 0;
}

int imap_arg_is_string(const struct imap_arg *arg)
{
	return arg->type != IMAP_ARG_LIST;
}
