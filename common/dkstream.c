#include "dkstream.h"

#include <string.h>

void
dkstream_init(struct dkstream *d, unsigned int types)
{
	memset(d, 0, sizeof(*d));
	d->types = types;
}

enum dkstream_result
dkstream_feed(struct dkstream *d, const unsigned char *p, size_t n,
    dkstream_fn fn, void *ctx)
{
	if (d->bad)
		return DKSTREAM_BAD;
	while (n > 0) {
		size_t k;

		if (d->hlen < DKSTREAM_HDR) {
			k = DKSTREAM_HDR - d->hlen < n ? DKSTREAM_HDR - d->hlen : n;
			memcpy(d->hdr + d->hlen, p, k);
			d->hlen += k;
			p += k;
			n -= k;
			if (d->hlen < DKSTREAM_HDR)
				break;
			if (d->hdr[0] >= 32 || !(d->types & DKSTREAM_TYPE(d->hdr[0])) ||
			    d->hdr[1] != 0 || d->hdr[2] != 0 || d->hdr[3] != 0) {
				d->bad = 1;
				return DKSTREAM_BAD;
			}
			d->type = d->hdr[0];
			d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
			    (uint32_t)d->hdr[6] << 8 | (uint32_t)d->hdr[7];
			d->frames++;
			if (d->left == 0)
				d->hlen = 0;
			continue;
		}
		k = d->left < n ? d->left : n;
		if (fn(ctx, d->type, p, k) != 0)
			return DKSTREAM_STOP;
		d->left -= (uint32_t)k;
		p += k;
		n -= k;
		if (d->left == 0)
			d->hlen = 0;
	}
	return DKSTREAM_OK;
}

int
dkstream_at_boundary(const struct dkstream *d)
{
	return !d->bad && d->hlen == 0;
}

void
dkstream_header(unsigned char h[DKSTREAM_HDR], int type, uint32_t len)
{
	h[0] = (unsigned char)type;
	h[1] = h[2] = h[3] = 0;
	h[4] = (unsigned char)(len >> 24);
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
}
