/*
 * Fuzz common/frame: the first byte picks the piece size; then the input is
 * split at each 0xff 0xfe 0xfd marker into alternating down and up streams,
 * fed to one channel. Invariants: whatever a reader passes is exactly the
 * frames it read, with headers frame_hdr_write rewrites identically; no
 * payload passes once the channel is broken; the caps are never passed; a
 * job that passes has no flag but FRAME_JOB_FLAGS, a LINK that passes parses;
 * a TOOL passes only in a programmatic job and a RESULT only for an open
 * TOOL, one at a time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct frame_caps caps = { 70000, 3, 70000, 70000, 140000 };

struct seen {
	struct frame_chan *c;
	uint64_t	bytes;
};

static int
sink(void *ctx, enum frame_ev ev, const struct frame_hdr *h,
    const unsigned char *p, size_t n)
{
	struct seen *s = ctx;
	unsigned char hdr[FRAME_HDR];
	const char *why;
	struct frame_hdr back;
	struct frame_job j;
	struct frame_link l;

	if (s->c->state == FRAME_S_BROKEN)
		abort();
	if (ev == FRAME_EV_HEAD) {
		frame_hdr_write(hdr, h->type, h->len);
		if (frame_hdr_parse(hdr, h->type < 0x10 ? FRAME_DOWN : FRAME_UP,
		    &back, &why) != 0 || back.type != h->type || back.len != h->len)
			abort();
		if (frame_type_fixed(h->type) && (p == NULL || n != h->len))
			abort();
		if (h->type == FRAME_JOB && (frame_job_parse(p, n, &j, &why) != 0 ||
		    (j.flags & ~FRAME_JOB_FLAGS) != 0))
			abort();
		if (h->type == FRAME_LINK && frame_link_parse(p, n, &l, &why) != 0)
			abort();
	} else if (n == 0 || n > h->len || p == NULL)
		abort();
	s->bytes += n;
	if (s->c->output > caps.output || s->c->archive > caps.archive ||
	    s->c->input > caps.input || s->c->code > caps.code ||
	    s->c->files > caps.files || s->c->results > s->c->tools ||
	    s->c->tools > s->c->results + 1 || (s->c->tools > 0 && !s->c->job_ptc))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_chan c;
	struct frame_rd rd[2];
	struct seen s;
	size_t step, i, start, dir = 1;	/* the agent's hello comes first */

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	frame_chan_init(&c, &caps);
	frame_rd_init(&rd[0], FRAME_DOWN, &c);
	frame_rd_init(&rd[1], FRAME_UP, &c);
	s.c = &c;
	s.bytes = 0;
	for (start = 0, i = 0; i <= size; i++) {
		size_t off;

		if (i + 3 <= size && memcmp(data + i, "\xff\xfe\xfd", 3) != 0)
			continue;
		if (i < size && i + 3 > size)
			continue;
		for (off = start; off < i; off += step) {
			enum frame_result r = frame_rd_feed(&rd[dir], data + off,
			    i - off < step ? i - off : step, sink, &s);

			if (r == FRAME_BAD && c.state != FRAME_S_BROKEN)
				abort();
			if (r != FRAME_OK)
				break;
		}
		dir ^= 1;
		start = i + 3;
		i += 2;
	}
	return 0;
}
