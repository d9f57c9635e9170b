/*
 * Fuzz storeproxy's ListObjectsV2 reader (s3xml.c). Invariants: it never
 * reads outside the input; every key it hands over is in the key class
 * and every size fits; a page it accepts has IsTruncated, and a truncated
 * one a printable token; its count is the number of keys handed over.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t emitted;

static int
emit(void *arg, const char *key, uint64_t sz)
{
	(void)arg;
	(void)sz;
	if (!s3_key_ok(key) || strlen(key) >= S3_KEY_MAX)
		abort();
	emitted++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_list_page p;
	const char *why = NULL;
	char *copy;
	size_t i;

	/* an exact-size copy: any read past the end is ASan's to see */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	emitted = 0;
	if (s3xml_list(copy, size, &p, emit, NULL, &why) == 0) {
		if (p.nkeys != emitted)
			abort();
		if (p.truncated) {
			if (p.token[0] == '\0')
				abort();
			for (i = 0; p.token[i] != '\0'; i++)
				if (p.token[i] <= 0x20 || p.token[i] > 0x7e)
					abort();
		}
	} else if (why == NULL)
		abort();
	free(copy);
	return 0;
}
