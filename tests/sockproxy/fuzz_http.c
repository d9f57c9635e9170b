/* Fuzz target: the client request head parser and the route table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_req r;
	const char *why;
	size_t end;
	int st, he;

	he = sp_http_head_end((const char *)data, size, &end);
	if (he == 1 && end > size)
		abort();
	st = sp_http_parse((const char *)data, size, &r, &why);
	if (st == 0) {
		/* whatever passed is one of the routes, byte for byte */
		if (r.route == NULL || strncmp(r.target, "/v1.41/", 7) != 0 ||
		    strchr(r.target, '%') != NULL || he != 1 || end != size)
			abort();
		if (r.route->body == SP_BODY_NONE && (r.has_clen || r.ctype))
			abort();
		if (r.route->body == SP_BODY_JSON && (!r.has_clen ||
		    r.clen > SP_JSON_MAX || r.ctype != SP_CT_JSON))
			abort();
	} else if (st < 400 || st > 431 || why == NULL) {
		abort();
	}
	return 0;
}
