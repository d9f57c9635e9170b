#ifndef CW_UTF8_H
#define CW_UTF8_H

#include <stddef.h>

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF, no NUL. */
int	utf8_valid(const unsigned char *s, size_t len);

#endif
