/*
 * Fuzz common/ustar: the header parser on any block, the pax record reader on
 * any bytes, and the writer on any path; what the writer writes the parser
 * must read back whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ustar.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_BAD	0x1fffu

/* write h's fields again; if that works, parsing gives them back */
static void
round_trip(const struct ustar_hdr *in)
{
	unsigned char b[USTAR_BLOCK];
	struct ustar_hdr h = *in, p;

	memset(h.linkname, 0, sizeof(h.linkname));
	h.linklen = 0;
	h.uname[0] = h.gname[0] = '\0';
	h.devmajor = h.devminor = 0;
	if (ustar_write(b, &h) != 0)
		return;
	if (ustar_parse(b, &p) != 0 || p.pathlen != h.pathlen ||
	    memcmp(p.path, h.path, h.pathlen) != 0 || p.type != h.type ||
	    p.mode != h.mode || p.uid != h.uid || p.gid != h.gid ||
	    p.size != h.size || p.mtime != h.mtime)
		abort();
}

static void
pax(const unsigned char *p, size_t n)
{
	struct ustar_pax_rec r;
	size_t off = 0, prev = 0;
	uint64_t v;
	int k;

	while ((k = ustar_pax_next(p, n, &off, &r)) > 0) {
		/* the record lies inside [prev, off) and ends in "\n" */
		if (off <= prev || off > n ||
		    (const unsigned char *)r.key != p + prev + r.digits + 1 ||
		    r.key + r.klen + 1 != r.val ||
		    (const unsigned char *)r.val + r.vlen != p + off - 1 ||
		    p[off - 1] != '\n' || r.key[r.klen] != '=' || r.digits == 0)
			abort();
		if (ustar_pax_uint(r.val, r.vlen, &v) == 0 &&
		    (r.vlen == 0 || r.vlen > 19))
			abort();
		(void)ustar_pax_is(&r, "path");
		prev = off;
	}
	if (k == 0 && off != n && n != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ustar_hdr h;
	size_t n;

	if (size >= USTAR_BLOCK) {
		int r = ustar_parse(data, &h);

		if ((r == 0) != (h.bad == 0) || (h.bad & ~ALL_BAD) != 0 ||
		    h.pathlen > USTAR_PATH_MAX || strlen(h.path) != h.pathlen ||
		    strlen(h.linkname) != h.linklen)
			abort();
		if (!(h.bad & USTAR_BAD_CKSUM) && ustar_checksum(data) == 0)
			abort();
		round_trip(&h);
		pax(data + USTAR_BLOCK, size - USTAR_BLOCK);
	} else {
		pax(data, size);
	}

	/* the writer on a path made of the input */
	n = size < USTAR_PATH_MAX + 2 ? size : USTAR_PATH_MAX + 2;
	memset(&h, 0, sizeof(h));
	memcpy(h.path, data, n < USTAR_PATH_MAX ? n : USTAR_PATH_MAX);
	h.pathlen = n;
	h.type = size > 0 ? data[0] : '0';
	h.mode = 0644;
	h.size = size;
	if (n <= USTAR_PATH_MAX && memchr(data, '\0', n) == NULL)
		round_trip(&h);
	else if (ustar_write((unsigned char[USTAR_BLOCK]){ 0 }, &h) == 0)
		abort();	/* too long or with a NUL: refused */
	(void)ustar_name_text_ok((const char *)data, size);
	(void)ustar_dots((const char *)data, size);
	return 0;
}
