/*
 * Fuzz common/dkstream: any bytes, fed in pieces of any size, against a
 * whole-buffer reference decoder. The first byte picks the accepted types and
 * the piece size. Every payload byte must come out once, in order, under its
 * frame's type; every accepted header must be what dkstream_header writes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkstream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	const uint8_t	*next;		/* where the next payload byte must be */
	const uint8_t	*end;
	unsigned int	types;
	int		type;
	size_t		left;
};

/* the reference: walk the headers, check each piece against them */
static void
skip_headers(struct seen *s)
{
	unsigned char h[DKSTREAM_HDR];

	while (s->left == 0 && s->end - s->next >= DKSTREAM_HDR) {
		if (s->next[0] >= 32 || !(s->types & DKSTREAM_TYPE(s->next[0])) ||
		    s->next[1] || s->next[2] || s->next[3])
			return;
		s->type = s->next[0];
		s->left = (size_t)s->next[4] << 24 | (size_t)s->next[5] << 16 |
		    (size_t)s->next[6] << 8 | s->next[7];
		dkstream_header(h, s->type, (uint32_t)s->left);
		if (memcmp(h, s->next, DKSTREAM_HDR) != 0)
			abort();
		s->next += DKSTREAM_HDR;
	}
}

static int
piece(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct seen *s = ctx;

	skip_headers(s);
	if (n == 0 || p != s->next || n > s->left || type != s->type)
		abort();
	s->next += n;
	s->left -= n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkstream d;
	struct seen s;
	unsigned int types;
	size_t step, off;
	enum dkstream_result r = DKSTREAM_OK;

	if (size < 1)
		return 0;
	types = data[0] & 0x0f;
	step = (size_t)(data[0] >> 4) + 1;
	data++;
	size--;
	memset(&s, 0, sizeof(s));
	s.next = data;
	s.end = data + size;
	s.types = types;
	dkstream_init(&d, types);
	for (off = 0; off < size && r == DKSTREAM_OK; off += step) {
		skip_headers(&s);
		r = dkstream_feed(&d, data + off, size - off < step ? size - off : step,
		    piece, &s);
		skip_headers(&s);
	}
	if (r == DKSTREAM_STOP)
		abort();
	if (r == DKSTREAM_BAD) {
		/* only at a header the reference refuses too */
		if (s.left != 0 || s.end - s.next < DKSTREAM_HDR ||
		    memcmp(d.hdr, s.next, DKSTREAM_HDR) != 0 ||
		    dkstream_at_boundary(&d))
			abort();
		return 0;
	}
	/* everything consumed: on a boundary exactly when no frame is open */
	if (dkstream_at_boundary(&d) != (s.left == 0 && s.next == s.end))
		abort();
	return 0;
}
