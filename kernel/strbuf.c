#include "autoconfig.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"
#include "xalloc.h"

char *strbuf_reserve(struct strbuf *sb, size_t n)
{
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap < 64 ? 64 : sb->cap;

		while (cap < sb->len + n + 1)
			cap *= 2;
		sb->data = xrealloc(sb->data, cap);
		sb->cap = cap;
	}
	return sb->data + sb->len;
}

void strbuf_commit(struct strbuf *sb, size_t n)
{
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
	const char *src = data;
	char *dst;

	/* Appending part of the buffer to itself: growing may move it. */
	if (sb->data != NULL && src >= sb->data && src < sb->data + sb->cap) {
		size_t off = (size_t)(src - sb->data);

		dst = strbuf_reserve(sb, len);
		src = sb->data + off;
	} else {
		dst = strbuf_reserve(sb, len);
	}
	if (len > 0)
		memmove(dst, src, len);
	strbuf_commit(sb, len);
}

void strbuf_appends(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

void strbuf_appendc(struct strbuf *sb, char c)
{
	strbuf_append(sb, &c, 1);
}

void strbuf_appendf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	strbuf_reserve(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->data != NULL)
		sb->data[0] = '\0';
}

void strbuf_consume(struct strbuf *sb, size_t n)
{
	if (n >= sb->len) {
		strbuf_reset(sb);
		return;
	}
	memmove(sb->data, sb->data + n, sb->len - n);
	sb->len -= n;
	sb->data[sb->len] = '\0';
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

char *strbuf_steal(struct strbuf *sb)
{
	char *p = sb->data != NULL ? sb->data : xstrdup("");

	sb->data = NULL;
	sb->len = sb->cap = 0;
	return p;
}
