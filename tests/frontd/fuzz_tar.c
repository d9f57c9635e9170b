/* Fuzz the work-directory tar reader: any bytes, the daemon's "data" root. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tar.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
touch(const struct tar_entry *e, void *ctx)
{
	volatile unsigned char x = 0;
	uint64_t i;

	(void)ctx;
	/* read every byte the reader claims is there */
	for (i = 0; i < e->size; i++)
		x ^= e->data[i];
	(void)x;
	return strlen(e->name) > 0 ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_limits lim = { 64, 1 << 20 };
	char err[128];

	(void)tar_walk(data, size, "data", &lim, touch, NULL, NULL, err, sizeof(err));
	return 0;
}
