#include "audit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
put(struct audit *a, const char *s, size_t n)
{
	/* room for the closing "}\n" is always kept */
	if (a->overflow || a->len + n + 2 > sizeof(a->buf)) {
		a->overflow = 1;
		return;
	}
	memcpy(a->buf + a->len, s, n);
	a->len += n;
}

static void
puts_(struct audit *a, const char *s)
{
	put(a, s, strlen(s));
}

/* a JSON string of printable ASCII: '"' and '\' escaped, the rest \u00XX */
static void
put_jstr(struct audit *a, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char out[AUDIT_STR_MAX * 6 + 8];
	size_t i, o = 0;

	out[o++] = '"';
	for (i = 0; i < n && i < AUDIT_STR_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			memcpy(out + o, "\\u00", 4);
			o += 4;
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	put(a, out, o);
}

static void
key(struct audit *a, const char *k)
{
	if (a->need_comma)
		put(a, ",", 1);
	put_jstr(a, k, strlen(k));
	put(a, ":", 1);
	a->need_comma = 1;
}

static void
begin(struct audit *a)
{
	char num[16];

	a->len = 0;
	a->overflow = 0;
	a->need_comma = 0;
	put(a, "{", 1);
	key(a, "audit");
	put_jstr(a, a->kind, strlen(a->kind));
	key(a, "v");
	snprintf(num, sizeof(num), "%d", AUDIT_VERSION);
	puts_(a, num);
	key(a, "time");
	put_jstr(a, a->when, strlen(a->when));
	key(a, "policy");
	put_jstr(a, a->policy, strlen(a->policy));
}

void
audit_begin(struct audit *a, const char *kind, const char *policy)
{
	struct timespec ts;
	struct tm tm;
	char day[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(a->when, sizeof(a->when), "%.24s.%03dZ", day,
	    (int)(ts.tv_nsec / 1000000) % 1000);
	a->kind = kind;
	snprintf(a->policy, sizeof(a->policy), "%s", policy);
	begin(a);
}

void
audit_str(struct audit *a, const char *k, const char *val)
{
	audit_strn(a, k, val, strlen(val));
}

void
audit_strn(struct audit *a, const char *k, const char *val, size_t n)
{
	key(a, k);
	put_jstr(a, val, n);
}

void
audit_u64(struct audit *a, const char *k, uint64_t v)
{
	char num[24];

	key(a, k);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	puts_(a, num);
}

void
audit_i64(struct audit *a, const char *k, int64_t v)
{
	char num[24];

	key(a, k);
	snprintf(num, sizeof(num), "%lld", (long long)v);
	puts_(a, num);
}

void
audit_bool(struct audit *a, const char *k, int v)
{
	key(a, k);
	puts_(a, v ? "true" : "false");
}

void
audit_null(struct audit *a, const char *k)
{
	key(a, k);
	puts_(a, "null");
}

void
audit_obj_begin(struct audit *a, const char *k)
{
	key(a, k);
	put(a, "{", 1);
	a->need_comma = 0;
}

void
audit_obj_end(struct audit *a)
{
	put(a, "}", 1);
	a->need_comma = 1;
}

const char *
audit_text(struct audit *a)
{
	size_t n = a->len;

	if (n > 0 && a->buf[n - 1] == '\n')
		n--;
	a->buf[n] = '\0';
	return a->buf;
}

int
audit_end(struct audit *a)
{
	if (a->overflow) {
		/* keep what identifies the line, say it was cut */
		begin(a);
		audit_bool(a, "truncated", 1);
	}
	/* put() always leaves room for these two */
	a->buf[a->len++] = '}';
	a->buf[a->len++] = '\n';
	return write(STDERR_FILENO, a->buf, a->len) == (ssize_t)a->len ? 0 : -1;
}
