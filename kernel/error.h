/* The one error convention (STYLE 7): functions return 0 on success and -1
 * on failure with a message in `const char **error_r`.  error_fmt() builds
 * that message in a per-thread buffer, so the text stays valid until the
 * same thread formats the next error; callers that keep it must copy it. */
#ifndef VIMAP_ERROR_H
#define VIMAP_ERROR_H

#if defined(__GNUC__)
#define ATTR_FORMAT(f, a) __attribute__((format(printf, f, a)))
#else
#define ATTR_FORMAT(f, a)
#endif

/* Formats an error message; returns the per-thread buffer. */
const char *error_fmt(const char *fmt, ...) ATTR_FORMAT(1, 2);

/* Sets *error_r (when error_r is not NULL) to error_fmt(...); returns -1, so
   a failing function can end with `return error_set(error_r, ...)`. */
int error_set(const char **error_r, const char *fmt, ...) ATTR_FORMAT(2, 3);

#endif
