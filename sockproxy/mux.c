#include "mux.h"

#include <stdio.h>
#include <string.h>

void
sp_mux_init(struct sp_mux *m, uint64_t stdout_cap, uint64_t stderr_cap)
{
	memset(m, 0, sizeof(*m));
	dkstream_init(&m->dk, DKSTREAM_TYPE(SP_MUX_STDOUT) |
	    DKSTREAM_TYPE(SP_MUX_STDERR));
	m->cap[SP_MUX_STDOUT] = stdout_cap;
	m->cap[SP_MUX_STDERR] = stderr_cap;
}

static int
stop(struct sp_mux *m, enum sp_mux_result r)
{
	if (r == SP_MUX_BAD)
		snprintf(m->why, sizeof(m->why), "cannot pass the stream on");
	m->stop = r;
	return -1;
}

/* one payload piece: counted against its stream's cap, then handed on */
static int
piece(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct sp_mux *m = ctx;
	uint64_t room = m->cap[type] - m->total[type];

	if (n > room) {
		if (room > 0 && m->out(m->ctx, type, p, (size_t)room) != 0)
			return stop(m, SP_MUX_BAD);
		m->total[type] += room;
		snprintf(m->why, sizeof(m->why), "%s passed its cap of %llu bytes",
		    type == SP_MUX_STDOUT ? "stdout" : "stderr",
		    (unsigned long long)m->cap[type]);
		return stop(m, SP_MUX_CAP);
	}
	if (m->out(m->ctx, type, p, n) != 0)
		return stop(m, SP_MUX_BAD);
	m->total[type] += n;
	return 0;
}

enum sp_mux_result
sp_mux_feed(struct sp_mux *m, const unsigned char *p, size_t n,
    sp_mux_out_fn out, void *ctx)
{
	const unsigned char *h = m->dk.hdr;

	m->out = out;
	m->ctx = ctx;
	switch (dkstream_feed(&m->dk, p, n, piece, m)) {
	case DKSTREAM_OK:
		return SP_MUX_OK;
	case DKSTREAM_STOP:
		return m->stop;
	case DKSTREAM_BAD:
		snprintf(m->why, sizeof(m->why),
		    "bad frame header %02x %02x %02x %02x", h[0], h[1], h[2], h[3]);
		return SP_MUX_BAD;
	}
	return SP_MUX_BAD;
}

int
sp_mux_finish(struct sp_mux *m)
{
	if (!dkstream_at_boundary(&m->dk)) {
		snprintf(m->why, sizeof(m->why), "stream ends inside a frame");
		return -1;
	}
	return 0;
}
