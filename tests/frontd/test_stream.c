/* The exec stream demultiplexer: framing, caps, cuts, corruption. */
#include <stdio.h>
#include <string.h>

#include "stream.h"


#include "../lib/check.h"

static size_t
frame(unsigned char *p, int type, const char *s)
{
	size_t n = strlen(s);

	p[0] = (unsigned char)type;
	p[1] = p[2] = p[3] = 0;
	p[4] = (unsigned char)(n >> 24);
	p[5] = (unsigned char)(n >> 16);
	p[6] = (unsigned char)(n >> 8);
	p[7] = (unsigned char)n;
	memcpy(p + 8, s, n);
	return 8 + n;
}

int
main(void)
{
	unsigned char buf[512];
	struct outbuf out = { 0 }, err = { 0 };
	size_t n = 0;

	n += frame(buf + n, 1, "a");
	n += frame(buf + n, 2, "b");
	n += frame(buf + n, 1, "cd");
	n += frame(buf + n, 2, "");
	n += frame(buf + n, 1, "efgh");
	out.cap = 5;
	err.cap = 100;
	CHECK(stream_demux(buf, n, &out, &err) == 0);
	CHECK(out.len == 5 && memcmp(out.buf, "acdef", 5) == 0);
	CHECK(out.truncated && out.total == 7);
	CHECK(err.len == 1 && err.buf[0] == 'b' && !err.truncated);
	outbuf_free(&out);
	outbuf_free(&err);

	/* cut inside a frame: keep what arrived */
	out.cap = err.cap = 100;
	CHECK(stream_demux(buf, 8 + 1 + 8 + 1 + 8 + 1, &out, &err) == 0);
	CHECK(out.len == 2 && memcmp(out.buf, "ac", 2) == 0);
	outbuf_free(&out);
	outbuf_free(&err);

	/* cut inside a header (privd's cap cuts anywhere): keep what came */
	CHECK(stream_demux(buf, 12, &out, &err) == 0);
	CHECK(out.len == 1 && err.len == 0);
	outbuf_free(&out);
	outbuf_free(&err);
	/* bad type, bad padding: corrupt */
	buf[0] = 7;
	CHECK(stream_demux(buf, n, &out, &err) != 0);
	outbuf_free(&out);
	outbuf_free(&err);
	buf[0] = 1;
	buf[2] = 1;
	CHECK(stream_demux(buf, n, &out, &err) != 0);
	outbuf_free(&out);
	outbuf_free(&err);
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("stream: all checks passed\n");
	return check_done("test_stream");
}
