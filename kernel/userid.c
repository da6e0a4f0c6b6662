#include "autoconfig.h"
#include <ctype.h>
#include <string.h>
#include "userid.h"

int userid_canonical(const char *in, size_t len, char out[USERID_MAX + 1])
{
	size_t i;

	if (len == 0 || len > USERID_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '+' && c != '@')
			return -1;
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return strcmp(out, ".") == 0 || strcmp(out, "..") == 0 ? -1 : 0;
}
