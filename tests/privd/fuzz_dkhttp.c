/*
 * Fuzz privd's reader of sockproxy's answers: the first byte picks how the
 * rest is split between reads; the head is parsed, then the body fed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dkhttp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
sink(void *ctx, const char *p, size_t n)
{
	size_t *total = ctx;

	(void)p;
	*total += n;
	return *total > (1 << 20) ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1, *end;
	struct dkh_head h;
	struct dkh_body b;
	size_t len, step, off, total = 0;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	len = size - 1;
	if ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return 0;
	if (dkh_parse_head(buf, (size_t)(end + 4 - buf), &h) != 0)
		return 0;
	dkh_body_init(&b, &h);
	for (off = (size_t)(end + 4 - buf); off < len; off += step) {
		size_t k = len - off < step ? len - off : step;

		if (dkh_body_feed(&b, buf + off, k, sink, &total) != 0)
			break;
	}
	(void)dkh_body_done(&b);
	return 0;
}
