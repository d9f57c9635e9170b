#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "dkstream.h"

static int
outbuf_add(struct outbuf *o, const unsigned char *p, size_t n)
{
	size_t keep;

	o->total += n;
	if (o->len >= o->cap) {
		if (n > 0)
			o->truncated = 1;
		return 0;
	}
	keep = o->cap - o->len < n ? o->cap - o->len : n;
	if (keep < n)
		o->truncated = 1;
	if (o->buf == NULL) {
		if ((o->buf = malloc(o->cap + 1)) == NULL)
			return -1;
	}
	memcpy(o->buf + o->len, p, keep);
	o->len += keep;
	o->buf[o->len] = '\0';
	return 0;
}

void
outbuf_free(struct outbuf *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = 0;
}

/* the stdout piece to out, stderr and the daemon's error text to err */
static int
piece(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct outbuf **o = ctx;

	return outbuf_add(type == DKSTREAM_STDOUT ? o[0] : o[1], p, n);
}

int
stream_demux(const unsigned char *data, size_t len, struct outbuf *out,
    struct outbuf *err)
{
	struct outbuf *o[2] = { out, err };
	struct dkstream d;

	dkstream_init(&d, DKSTREAM_TYPE(DKSTREAM_STDOUT) |
	    DKSTREAM_TYPE(DKSTREAM_STDERR) | DKSTREAM_TYPE(DKSTREAM_SYSERR));
	/* a stream cut inside a header or a frame (privd's cap) is no error */
	return dkstream_feed(&d, data, len, piece, o) == DKSTREAM_OK ? 0 : -1;
}
