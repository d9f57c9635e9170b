/* privd's reader of sockproxy's answers: heads, both framings, splits. */
#include <stdio.h>
#include <string.h>

#include "dkhttp.h"


#include "../lib/check.h"

struct acc {
	char	buf[256];
	size_t	len;
};

static int
sink(void *ctx, const char *p, size_t n)
{
	struct acc *a = ctx;

	if (a->len + n > sizeof(a->buf))
		return -1;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	return 0;
}

/* parse a whole answer fed in pieces of 'step'; returns body done */
static int
run(const char *ans, size_t step, struct acc *a, int *status)
{
	const char *end = strstr(ans, "\r\n\r\n");
	struct dkh_head h;
	struct dkh_body b;
	size_t off, len = strlen(ans);

	memset(a, 0, sizeof(*a));
	if (end == NULL || dkh_parse_head(ans, (size_t)(end + 4 - ans), &h) != 0)
		return -1;
	*status = h.status;
	dkh_body_init(&b, &h);
	for (off = (size_t)(end + 4 - ans); off < len; off += step) {
		size_t k = len - off < step ? len - off : step;

		if (dkh_body_feed(&b, ans + off, k, sink, a) != 0)
			return -1;
	}
	return dkh_body_done(&b);
}

int
main(void)
{
	struct dkh_head h;
	struct acc a;
	size_t step;
	int st;

	for (step = 1; step < 9; step++) {
		CHECK(run("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
		    "Content-Length: 9\r\nConnection: close\r\n\r\n{\"Id\":12}", step, &a, &st) == 1);
		CHECK(st == 201 && a.len == 9 && memcmp(a.buf, "{\"Id\":12}", 9) == 0);
		CHECK(run("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n", step, &a, &st) == 1);
		CHECK(a.len == 19 && memcmp(a.buf, "abc0123456789abcdef", 19) == 0);
		/* a stream cut before its last chunk is not done */
		CHECK(run("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabc\r\n", step, &a, &st) == 0);
	}
	CHECK(run("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 1, &a, &st) == 1 &&
	    st == 204 && a.len == 0);
	/* sockproxy's stat line of the work directory */
	{
		const char *ok = "HTTP/1.1 200 OK\r\nX-Codeward-Stat: size=40 mode=2147484096 "
		    "mtime=2026-11-22T00:00:00.1Z\r\nContent-Length: 0\r\n\r\n";
		const char *twice = "HTTP/1.1 200 OK\r\nX-Codeward-Stat: a\r\n"
		    "X-Codeward-Stat: a\r\n\r\n";
		const char *ctl = "HTTP/1.1 200 OK\r\nX-Codeward-Stat: a\tb\r\n\r\n";

		CHECK(dkh_parse_head(ok, strlen(ok), &h) == 0 &&
		    strcmp(h.stat, "size=40 mode=2147484096 mtime=2026-11-22T00:00:00.1Z") == 0);
		CHECK(dkh_parse_head(twice, strlen(twice), &h) != 0);
		CHECK(dkh_parse_head(ctl, strlen(ctl), &h) != 0);
		CHECK(dkh_parse_head("HTTP/1.1 200 OK\r\n\r\n", 19, &h) == 0 && h.stat[0] == '\0');
	}
	/* sockproxy's generation: lowercase hex, at most 32, stated once */
	{
		const char *ok = "HTTP/1.1 204 No Content\r\nX-Codeward-Generation: "
		    "0123456789abcdef0123456789abcdef\r\nConnection: close\r\n\r\n";
		const char *twice = "HTTP/1.1 204 No Content\r\nX-Codeward-Generation: a1"
		    "\r\nX-Codeward-Generation: a1\r\n\r\n";
		const char *upper = "HTTP/1.1 204 No Content\r\nX-Codeward-Generation: A1\r\n\r\n";
		const char *empty = "HTTP/1.1 204 No Content\r\nX-Codeward-Generation: \r\n\r\n";
		const char *longer = "HTTP/1.1 204 No Content\r\nX-Codeward-Generation: "
		    "0123456789abcdef0123456789abcdef0\r\n\r\n";

		CHECK(dkh_parse_head(ok, strlen(ok), &h) == 0 && h.status == 204 &&
		    strcmp(h.gen, "0123456789abcdef0123456789abcdef") == 0);
		CHECK(dkh_parse_head(twice, strlen(twice), &h) != 0);
		CHECK(dkh_parse_head(upper, strlen(upper), &h) != 0);
		CHECK(dkh_parse_head(empty, strlen(empty), &h) != 0);
		CHECK(dkh_parse_head(longer, strlen(longer), &h) != 0);
		CHECK(dkh_parse_head("HTTP/1.1 200 OK\r\n\r\n", 19, &h) == 0 && h.gen[0] == '\0');
	}
	/* refused heads */
	CHECK(dkh_parse_head("HTTP/1.0 200 OK\r\n\r\n", 19, &h) != 0);
	CHECK(dkh_parse_head("HTTP/1.1 99 OK\r\n\r\n", 18, &h) != 0);
	CHECK(dkh_parse_head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 56, &h) != 0);
	CHECK(dkh_parse_head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 66, &h) != 0);
	CHECK(dkh_parse_head("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 39, &h) != 0);
	CHECK(dkh_parse_head("HTTP/1.1 200 OK\r\nbroken\r\n\r\n", 27, &h) != 0);
	/* refused bodies: bad chunk size, missing CRLF, bytes after the end */
	CHECK(run("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 1, &a, &st) == -1);
	CHECK(run("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 1, &a, &st) == -1);
	CHECK(run("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab", 1, &a, &st) == -1);
	CHECK(run("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n\r\n", 1, &a, &st) == -1);
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("dkhttp: all checks passed\n");
	return check_done("test_dkhttp");
}
