/* Fuzz the exec stream demultiplexer with small caps. */
#include <stddef.h>
#include <stdint.h>

#include "stream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outbuf out = { 0 }, err = { 0 };

	out.cap = 64;
	err.cap = 17;
	(void)stream_demux(data, size, &out, &err);
	outbuf_free(&out);
	outbuf_free(&err);
	return 0;
}
