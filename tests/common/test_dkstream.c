/* common/dkstream: Docker's 8-byte stream frames, decoded in any pieces. */
#include <stdio.h>
#include <string.h>

#include "dkstream.h"


#include "../lib/check.h"

struct got {
	char	buf[4][256];
	size_t	len[4];
	size_t	pieces;
	size_t	stop_after;	/* return non-zero at this piece (0: never) */
};

static int
piece(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct got *g = ctx;

	if (n == 0 || type < 0 || type > 3 || g->len[type] + n > sizeof(g->buf[0]))
		return -1;
	memcpy(g->buf[type] + g->len[type], p, n);
	g->len[type] += n;
	return ++g->pieces == g->stop_after ? 1 : 0;
}

static size_t
frame(unsigned char *o, int type, const char *s)
{
	size_t n = strlen(s);

	dkstream_header(o, type, (uint32_t)n);
	memcpy(o + DKSTREAM_HDR, s, n);
	return DKSTREAM_HDR + n;
}

/* feed s in pieces of step bytes */
static enum dkstream_result
run(struct dkstream *d, unsigned int types, const unsigned char *s, size_t len,
    size_t step, struct got *g)
{
	enum dkstream_result r = DKSTREAM_OK;
	size_t off;

	memset(g, 0, sizeof(*g));
	dkstream_init(d, types);
	for (off = 0; off < len && r == DKSTREAM_OK; off += step)
		r = dkstream_feed(d, s + off, len - off < step ? len - off : step,
		    piece, g);
	return r;
}

int
main(void)
{
	const unsigned int out_err = DKSTREAM_TYPE(DKSTREAM_STDOUT) |
	    DKSTREAM_TYPE(DKSTREAM_STDERR);
	unsigned char s[512], h[DKSTREAM_HDR];
	struct dkstream d;
	struct got g;
	size_t len = 0, step;

	dkstream_header(h, DKSTREAM_STDERR, 0x01020304);
	CHECK(memcmp(h, "\x02\0\0\0\x01\x02\x03\x04", 8) == 0);

	len += frame(s + len, DKSTREAM_STDOUT, "hello ");
	len += frame(s + len, DKSTREAM_STDERR, "oops\n");
	len += frame(s + len, DKSTREAM_STDOUT, "");	/* empty: no piece */
	len += frame(s + len, DKSTREAM_STDOUT, "world\n");
	for (step = 1; step <= len; step++) {
		CHECK(run(&d, out_err, s, len, step, &g) == DKSTREAM_OK);
		CHECK(g.len[1] == 12 && memcmp(g.buf[1], "hello world\n", 12) == 0);
		CHECK(g.len[2] == 5 && memcmp(g.buf[2], "oops\n", 5) == 0);
		CHECK(dkstream_at_boundary(&d) && d.frames == 4);
	}
	CHECK(run(&d, out_err, s, len, len, &g) == DKSTREAM_OK && g.pieces == 3);

	/* cut inside a header, inside a payload */
	CHECK(run(&d, out_err, s, 3, 1, &g) == DKSTREAM_OK && !dkstream_at_boundary(&d));
	CHECK(run(&d, out_err, s, 11, 4, &g) == DKSTREAM_OK &&
	    !dkstream_at_boundary(&d) && g.len[1] == 3);
	CHECK(run(&d, out_err, s, 0, 1, &g) == DKSTREAM_OK && dkstream_at_boundary(&d));

	/* the type set is the reader's; padding must be zero */
	len = frame(s, DKSTREAM_SYSERR, "daemon error");
	CHECK(run(&d, out_err, s, len, 5, &g) == DKSTREAM_BAD && g.pieces == 0);
	CHECK(memcmp(d.hdr, s, DKSTREAM_HDR) == 0 && !dkstream_at_boundary(&d));
	CHECK(dkstream_feed(&d, s, 1, piece, &g) == DKSTREAM_BAD);	/* sticky */
	CHECK(run(&d, out_err | DKSTREAM_TYPE(DKSTREAM_SYSERR), s, len, 5, &g) ==
	    DKSTREAM_OK && g.len[3] == 12);
	len = frame(s, DKSTREAM_STDIN, "in");
	CHECK(run(&d, out_err, s, len, 1, &g) == DKSTREAM_BAD);
	len = frame(s, DKSTREAM_STDOUT, "x");
	s[2] = 1;
	CHECK(run(&d, out_err, s, len, 1, &g) == DKSTREAM_BAD);
	s[0] = 0x41;
	s[2] = 0;
	CHECK(run(&d, ~0u, s, len, 1, &g) == DKSTREAM_BAD);	/* type 65 */

	/* the reader stops the feed */
	len = frame(s, DKSTREAM_STDOUT, "abc");
	len += frame(s + len, DKSTREAM_STDOUT, "def");
	memset(&g, 0, sizeof(g));
	g.stop_after = 1;
	dkstream_init(&d, out_err);
	CHECK(dkstream_feed(&d, s, len, piece, &g) == DKSTREAM_STOP &&
	    g.len[1] == 3 && d.frames == 1);

	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return check_done("test_dkstream");
}
