/* The exec stream demultiplexer. */
#include "mux.h"
#include "sp_check.h"

struct got {
	unsigned char	buf[4][4096];
	size_t		len[4];
	int		fail;
};

static int
out(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct got *g = ctx;

	if (g->fail || g->len[type] + n > sizeof(g->buf[type]))
		return -1;
	memcpy(g->buf[type] + g->len[type], p, n);
	g->len[type] += n;
	return 0;
}

static size_t
frame(unsigned char *o, int type, const char *s, size_t n)
{
	o[0] = (unsigned char)type;
	o[1] = o[2] = o[3] = 0;
	o[4] = (unsigned char)(n >> 24);
	o[5] = (unsigned char)(n >> 16);
	o[6] = (unsigned char)(n >> 8);
	o[7] = (unsigned char)n;
	memcpy(o + 8, s, n);
	return 8 + n;
}

static enum sp_mux_result
run(const unsigned char *s, size_t len, size_t step, uint64_t cap, struct got *g,
    int *finished)
{
	struct sp_mux m;
	size_t off;
	enum sp_mux_result r = SP_MUX_OK;

	memset(g, 0, sizeof(*g));
	sp_mux_init(&m, cap, cap);
	for (off = 0; off < len && r == SP_MUX_OK; off += step)
		r = sp_mux_feed(&m, s + off, len - off < step ? len - off : step, out, g);
	*finished = r == SP_MUX_OK && sp_mux_finish(&m) == 0;
	return r;
}

int
main(void)
{
	unsigned char s[1024], b[64];
	struct got g;
	size_t len = 0, step;
	int fin;

	len += frame(s + len, 1, "out\n", 4);
	len += frame(s + len, 2, "err\n", 4);
	len += frame(s + len, 1, "", 0);
	len += frame(s + len, 1, "more\n", 5);
	len += frame(s + len, 2, "x", 1);
	for (step = 1; step <= len; step++) {
		CHECK(run(s, len, step, 1000, &g, &fin) == SP_MUX_OK && fin);
		CHECK(g.len[1] == 9 && memcmp(g.buf[1], "out\nmore\n", 9) == 0);
		CHECK(g.len[2] == 5 && memcmp(g.buf[2], "err\nx", 5) == 0);
	}
	/* a stream that stops inside a header or a payload */
	CHECK(run(s, 5, 1, 1000, &g, &fin) == SP_MUX_OK && !fin);
	CHECK(run(s, 10, 3, 1000, &g, &fin) == SP_MUX_OK && !fin);
	CHECK(run(s, 0, 1, 1000, &g, &fin) == SP_MUX_OK && fin);

	/* refused headers: stdin (0), anything above 2, non-zero padding */
	memcpy(b, s, 12);
	b[0] = 0;
	CHECK(run(b, 12, 12, 1000, &g, &fin) == SP_MUX_BAD && g.len[0] == 0);
	b[0] = 3;
	CHECK(run(b, 12, 12, 1000, &g, &fin) == SP_MUX_BAD);
	b[0] = 1;
	b[2] = 1;
	CHECK(run(b, 12, 12, 1000, &g, &fin) == SP_MUX_BAD);
	b[2] = 0;
	b[3] = 0x80;
	CHECK(run(b, 12, 1, 1000, &g, &fin) == SP_MUX_BAD);
	/* a TTY stream (no framing) is refused at its first bytes */
	CHECK(run((const unsigned char *)"hello world\n", 12, 12, 1000, &g, &fin) ==
	    SP_MUX_BAD);
	/* a bad frame after good ones: the good ones went out */
	memcpy(b, s, 12);
	memcpy(b + 12, "\x09\0\0\0\0\0\0\x01z", 9);
	CHECK(run(b, 21, 21, 1000, &g, &fin) == SP_MUX_BAD && g.len[1] == 4);

	/* the cap: exactly up to it, then SP_MUX_CAP */
	for (step = 1; step <= len; step++) {
		CHECK(run(s, len, step, 6, &g, &fin) == SP_MUX_CAP);
		CHECK(g.len[1] == 6 && memcmp(g.buf[1], "out\nmo", 6) == 0);
		CHECK(g.len[2] == 4);	/* the frame after the cap never went */
	}
	CHECK(run(s, len, len, 9, &g, &fin) == SP_MUX_OK && fin);	/* equal: fine */
	CHECK(run(s, len, len, 0, &g, &fin) == SP_MUX_CAP && g.len[1] == 0);

	/* a sink that fails */
	memset(&g, 0, sizeof(g));
	g.fail = 1;
	{
		struct sp_mux m;

		sp_mux_init(&m, 100, 100);
		CHECK(sp_mux_feed(&m, s, len, out, &g) == SP_MUX_BAD);
	}
	/* a huge length is only a length: the stream's end decides */
	memcpy(b, "\x01\0\0\0\xff\xff\xff\xff" "abc", 11);
	CHECK(run(b, 11, 11, 1000, &g, &fin) == SP_MUX_OK && !fin && g.len[1] == 3);
	return check_done("unit_mux");
}
