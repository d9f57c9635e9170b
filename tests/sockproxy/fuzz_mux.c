/*
 * Fuzz target: the exec stream demultiplexer. Byte 0 sets the cap, byte 1
 * the piece size; no stream may pass its cap, and no more payload may come
 * out than went in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mux.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct count {
	uint64_t	n[3];
};

static int
out(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct count *c = ctx;

	if (type != SP_MUX_STDOUT && type != SP_MUX_STDERR)
		abort();
	(void)p;
	c->n[type] += n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_mux m;
	struct count c;
	uint64_t cap;
	size_t step, off;
	enum sp_mux_result r = SP_MUX_OK;

	if (size < 2)
		return 0;
	cap = (uint64_t)data[0] * 16;
	step = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	memset(&c, 0, sizeof(c));
	sp_mux_init(&m, cap, cap);
	for (off = 0; off < size && r == SP_MUX_OK; off += step)
		r = sp_mux_feed(&m, data + off, size - off < step ? size - off : step,
		    out, &c);
	if (c.n[1] > cap || c.n[2] > cap || c.n[1] + c.n[2] > size)
		abort();
	if (r == SP_MUX_OK)
		(void)sp_mux_finish(&m);
	return 0;
}
