#ifndef CW_UTF8_H
#define CW_UTF8_H

#include <stddef.h>

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF, no NUL. */
int	utf8_valid(const unsigned char *s, size_t len);



/*
 * Copy len bytes into a new NUL-terminated buffer of valid UTF-8, each
 * invalid byte (and NUL) replaced by U+FFFD. NULL when out of memory.
 */
char	*utf8_sanitize(const char *s, size_t len, size_t *outlen);
#endif
