/*
 * Fuzz target: the streaming tar checker. Byte 0 picks upload or download,
 * byte 1 the piece size. An upload passes on exactly a prefix of its input,
 * and all of it when accepted; a download never passes on more than came in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tar.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	const uint8_t	*in;
	size_t		in_len, len;
	int		put;
};

static int
out(void *ctx, const unsigned char *p, size_t n)
{
	struct sink *s = ctx;

	if (s->len + n > s->in_len)
		abort();
	if (s->put && memcmp(s->in + s->len, p, n) != 0)
		abort();
	s->len += n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sp_tar t;
	struct sink s;
	size_t step, off;
	int bad = 0;

	if (size < 2)
		return 0;
	s.put = data[0] & 1;
	step = (size_t)data[1] * 7 + 1;
	data += 2;
	size -= 2;
	s.in = data;
	s.in_len = size;
	s.len = 0;
	sp_tar_init(&t, s.put ? SP_TAR_PUT : SP_TAR_GET, 10001, 1 << 20, 256);
	for (off = 0; off < size && !bad; off += step)
		bad = sp_tar_feed(&t, data + off, size - off < step ?
		    size - off : step, out, &s) != 0;
	if (!bad && sp_tar_finish(&t) == 0 && s.put && s.len != size)
		abort();
	return 0;
}
