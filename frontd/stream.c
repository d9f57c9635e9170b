#include "stream.h"

#include <stdlib.h>
#include <string.h>

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

int
stream_demux(const unsigned char *data, size_t len, struct outbuf *out,
    struct outbuf *err)
{
	size_t off = 0;

	while (off < len) {
		struct outbuf *dst;
		uint32_t flen;
		size_t n;

		if (len - off < 8)
			break;		/* cut inside a header: the output cap */
		if (data[off + 1] != 0 || data[off + 2] != 0 || data[off + 3] != 0)
			return -1;
		switch (data[off]) {
		case 1:
			dst = out;
			break;
		case 2:
		case 3:
			dst = err;
			break;
		default:
			return -1;
		}
		flen = (uint32_t)data[off + 4] << 24 | (uint32_t)data[off + 5] << 16 |
		    (uint32_t)data[off + 6] << 8 | (uint32_t)data[off + 7];
		off += 8;
		n = len - off < flen ? len - off : flen;
		if (outbuf_add(dst, data + off, n) < 0)
			return -1;
		off += n;
	}
	return 0;
}
