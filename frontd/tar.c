#include "tar.h"

#include <stdio.h>
#include <string.h>

#include "ustar.h"

int
tar_clean_name(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (!ustar_name_text_ok(in, inlen))
		return -1;
	while (i < inlen) {
		size_t start, clen;

		while (i < inlen && in[i] == '/')
			i++;
		start = i;
		while (i < inlen && in[i] != '/')
			i++;
		clen = i - start;
		if (clen == 0 || ustar_dots(in + start, clen) == 1)
			continue;
		if (ustar_dots(in + start, clen) == 2)
			return -1;
		if (clen > 100)	/* what privd can place again (ustar) */
			return -1;
		if (o + (o ? 1 : 0) + clen + 1 > outlen)
			return -1;
		if (o)
			out[o++] = '/';
		memcpy(out + o, in + start, clen);
		o += clen;
	}
	if (o == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* PAX records: take path and size, pass over the rest */
static int
parse_pax(const unsigned char *p, size_t n, char *path, size_t pathlen,
    int *have_path, uint64_t *size, int *have_size)
{
	struct ustar_pax_rec r;
	size_t off = 0;
	int k;

	while ((k = ustar_pax_next(p, n, &off, &r)) > 0) {
		if (ustar_pax_is(&r, "path")) {
			if (r.vlen >= pathlen)
				return -1;
			memcpy(path, r.val, r.vlen);
			path[r.vlen] = '\0';
			*have_path = 1;
		} else if (ustar_pax_is(&r, "size")) {
			if (ustar_pax_uint(r.val, r.vlen, size) != 0)
				return -1;
			*have_size = 1;
		}
	}
	return k;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int
tar_walk(const unsigned char *buf, size_t len, const char *strip,
    const struct tar_limits *lim, tar_cb cb, void *ctx, char *err,
    size_t errlen)
{
	char pax_path[1024];
	uint64_t pax_size = 0;
	int have_pax_path = 0, have_pax_size = 0;
	size_t off = 0, entries = 0, striplen = strlen(strip);

	while (off + USTAR_BLOCK <= len) {
		const unsigned char *blk = buf + off;
		struct ustar_hdr h;
		char clean[TAR_NAME_MAX + 1];
		struct tar_entry e;
		const char *raw;
		size_t rawlen;
		uint64_t size;
		unsigned char type;

		if (ustar_is_zero(blk, USTAR_BLOCK))
			return 0;	/* end of archive */
		if (++entries > lim->entries_max)
			FAIL("more than %zu entries", lim->entries_max);
		/* only these fields matter here; GNU's magic passes */
		(void)ustar_parse(blk, &h);
		if (h.bad & USTAR_BAD_CKSUM)
			FAIL("bad header checksum at %zu", off);
		if (h.bad & USTAR_BAD_MAGIC)
			FAIL("not a ustar header at %zu", off);
		if (h.bad & USTAR_BAD_SIZE)
			FAIL("bad size field at %zu", off);
		size = h.size;
		type = h.type;
		if (type == USTAR_PAX || type == USTAR_PAX_GLOBAL) {
			if (size > 64 * 1024 || size > len - off - USTAR_BLOCK)
				FAIL("PAX header too large");
			if (type == USTAR_PAX && parse_pax(blk + USTAR_BLOCK,
			    (size_t)size, pax_path, sizeof(pax_path), &have_pax_path,
			    &pax_size, &have_pax_size) < 0)
				FAIL("bad PAX header");
			off += USTAR_BLOCK + (size_t)ustar_padded(size);
			continue;
		}
		if (have_pax_size)
			size = pax_size;
		if (type == USTAR_FILE || type == '\0' || type == USTAR_CONTIG) {
			if (size > lim->file_max)
				FAIL("a file is larger than %llu bytes",
				    (unsigned long long)lim->file_max);
		} else if (type != USTAR_DIR)
			size = (type == USTAR_HARDLINK || type == USTAR_SYMLINK ||
			    type == USTAR_CHR || type == USTAR_BLK ||
			    type == USTAR_FIFO) ? 0 : size;
		if (size > len - off - USTAR_BLOCK)
			FAIL("entry data runs past the end");
		/* the name: PAX path, else ustar prefix '/' name */
		if (have_pax_path) {
			raw = pax_path;
			rawlen = strlen(pax_path);
		} else {
			raw = h.path;
			rawlen = h.pathlen;
		}
		have_pax_path = have_pax_size = 0;
		off += USTAR_BLOCK + (size_t)ustar_padded(size);
		if (off > len)
			FAIL("entry data runs past the end");

		if (type != USTAR_FILE && type != '\0' && type != USTAR_CONTIG &&
		    type != USTAR_DIR)
			continue;	/* links, devices, FIFOs: never stored */
		if (tar_clean_name(raw, rawlen, clean, sizeof(clean)) < 0)
			FAIL("unsafe entry name");
		/* strip the leading component */
		if (strncmp(clean, strip, striplen) != 0 ||
		    (clean[striplen] != '/' && clean[striplen] != '\0'))
			FAIL("entry outside the work directory");
		if (clean[striplen] == '\0')
			continue;	/* the directory itself */
		memset(&e, 0, sizeof(e));
		memcpy(e.name, clean + striplen + 1, strlen(clean + striplen + 1) + 1);
		e.type = type == USTAR_DIR ? TAR_DIR : TAR_FILE;
		e.size = e.type == TAR_DIR ? 0 : size;
		e.data = blk + USTAR_BLOCK;
		if (cb(&e, ctx) < 0)
			FAIL("stopped at '%s'", e.name);
	}
	/*
	 * The end: on a block, or a cut tail of zeros. A PAX block cut in its
	 * padding leaves off past len.
	 */
	if (off > len || (off != len && !ustar_is_zero(buf + off, len - off)))
		FAIL("archive ends inside a header");
	return 0;
}
