#include "sockproxy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void
sp_buf_init(struct sp_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
sp_buf_free(struct sp_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
reserve(struct sp_buf *b, size_t n)
{
	size_t ncap;
	char *np;

	if (b->err)
		return -1;
	if (n > b->max || b->len > b->max - n) {
		b->err = 1;
		return -1;
	}
	if (b->len + n + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + n + 1)
		ncap *= 2;
	if ((np = realloc(b->p, ncap)) == NULL) {
		b->err = 1;
		return -1;
	}
	b->p = np;
	b->cap = ncap;
	return 0;
}

void
sp_buf_add(struct sp_buf *b, const void *d, size_t n)
{
	if (reserve(b, n) < 0)
		return;
	if (n > 0)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
sp_buf_str(struct sp_buf *b, const char *s)
{
	sp_buf_add(b, s, strlen(s));
}

void
sp_buf_printf(struct sp_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->err = 1;
		return;
	}
	sp_buf_add(b, tmp, (size_t)n);
}

void
sp_buf_jstr(struct sp_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	sp_buf_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[6];

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			sp_buf_add(b, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			sp_buf_add(b, e, 6);
		} else {
			sp_buf_add(b, s + i, 1);
		}
	}
	sp_buf_add(b, "\"", 1);
}

int
sp_id_ok(const char *s, size_t len)
{
	size_t i;

	if (len != SP_ID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* the same CLOCK_MONOTONIC milliseconds as the other daemons */
uint64_t
sp_now_ms(void)
{
	return cw_now_ms();
}
