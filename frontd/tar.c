#include "tar.h"

#include <stdio.h>
#include <string.h>

static const char *const skip_names[TAR_SKIPS] = {
	[TAR_SKIP_NAME] = "name_too_long", [TAR_SKIP_UNSAFE] = "unsafe_name",
	[TAR_SKIP_TYPE] = "type", [TAR_SKIP_SIZE] = "too_large",
};

const char *
tar_skip_name(enum tar_skip why)
{
	return (unsigned int)why < TAR_SKIPS ? skip_names[why] : "unknown";
}

int
tar_clean_name(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t i = 0, o = 0;
	int toolong = 0;

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
		/* what privd can place again (ustar); ".." still looked for */
		if (toolong || clen > USTAR_OUT_COMPONENT_MAX ||
		    o + (o ? 1 : 0) + clen + 1 > outlen) {
			toolong = 1;
			continue;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, in + start, clen);
		o += clen;
	}
	if (toolong)
		return -2;
	if (o == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* the PAX records of the next entry that matter here */
struct pax {
	char		path[TAR_NAME_MAX + 1];
	int		have_path;
	int		long_path;	/* a path record too long to hold */
	uint64_t	size;
	int		have_size;
};

/* PAX records: take path and size, pass over the rest */
static int
parse_pax(const unsigned char *p, size_t n, struct pax *x)
{
	struct ustar_pax_rec r;
	size_t off = 0;
	int k;

	while ((k = ustar_pax_next(p, n, &off, &r)) > 0) {
		if (ustar_pax_is(&r, "path")) {
			x->have_path = 1;
			x->long_path = r.vlen >= sizeof(x->path);
			if (x->long_path)
				continue;
			memcpy(x->path, r.val, r.vlen);
			x->path[r.vlen] = '\0';
		} else if (ustar_pax_is(&r, "size")) {
			if (ustar_pax_uint(r.val, r.vlen, &x->size) != 0)
				return -1;
			x->have_size = 1;
		}
	}
	return k;
}

static int
is_file(unsigned char type)
{
	return type == USTAR_FILE || type == '\0' || type == USTAR_CONTIG;
}

/*
 * The entry's cleaned name below strip, into e->name: 0, or the reason it
 * is skipped; 1 for strip itself (not reported, not counted).
 */
static int
entry_name(const char *raw, size_t rawlen, int long_path, const char *strip,
    struct tar_entry *e)
{
	char clean[TAR_NAME_MAX + 1];
	size_t striplen = strlen(strip);
	int k;

	if (long_path)
		return -TAR_SKIP_NAME - 1;
	if ((k = tar_clean_name(raw, rawlen, clean, sizeof(clean))) < 0)
		return k == -2 ? -TAR_SKIP_NAME - 1 : -TAR_SKIP_UNSAFE - 1;
	if (strncmp(clean, strip, striplen) != 0 ||
	    (clean[striplen] != '/' && clean[striplen] != '\0'))
		return -TAR_SKIP_UNSAFE - 1;
	if (clean[striplen] == '\0')
		return 1;	/* the directory itself */
	memcpy(e->name, clean + striplen + 1, strlen(clean + striplen + 1) + 1);
	return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int
tar_walk(const unsigned char *buf, size_t len, const char *strip,
    const struct tar_limits *lim, tar_cb cb, void *ctx, struct tar_stats *st,
    char *err, size_t errlen)
{
	struct tar_stats dummy;
	struct pax x;
	size_t off = 0, entries = 0;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	memset(&x, 0, sizeof(x));
	while (off + USTAR_BLOCK <= len) {
		const unsigned char *blk = buf + off;
		struct ustar_hdr h;
		struct tar_entry e;
		const char *raw;
		size_t rawlen;
		uint64_t size;
		unsigned char type;
		struct pax cur;
		int k;

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
			if (type == USTAR_PAX &&
			    parse_pax(blk + USTAR_BLOCK, (size_t)size, &x) < 0)
				FAIL("bad PAX header");
			off += USTAR_BLOCK + (size_t)ustar_padded(size);
			continue;
		}
		if (x.have_size)
			size = x.size;
		if (!is_file(type) && type != USTAR_DIR)
			size = (type == USTAR_HARDLINK || type == USTAR_SYMLINK ||
			    type == USTAR_CHR || type == USTAR_BLK ||
			    type == USTAR_FIFO) ? 0 : size;
		if (size > len - off - USTAR_BLOCK)
			FAIL("entry data runs past the end");
		/* the name: PAX path, else ustar prefix '/' name */
		cur = x;
		memset(&x, 0, sizeof(x));
		if (cur.have_path) {
			raw = cur.path;
			rawlen = cur.long_path ? 0 : strlen(cur.path);
		} else {
			raw = h.path;
			rawlen = h.pathlen;
		}
		off += USTAR_BLOCK + (size_t)ustar_padded(size);
		if (off > len)
			FAIL("entry data runs past the end");

		if (!is_file(type) && type != USTAR_DIR) {
			st->skipped[TAR_SKIP_TYPE]++;	/* never stored */
			continue;
		}
		memset(&e, 0, sizeof(e));
		if ((k = entry_name(raw, rawlen, cur.long_path, strip, &e)) != 0) {
			if (k < 0)
				st->skipped[-k - 1]++;
			continue;
		}
		e.type = type == USTAR_DIR ? TAR_DIR : TAR_FILE;
		e.size = e.type == TAR_DIR ? 0 : size;
		e.data = blk + USTAR_BLOCK;
		if (e.type == TAR_FILE && size > lim->file_max) {
			/* reported without its data: it exists, it is not kept */
			st->skipped[TAR_SKIP_SIZE]++;
			e.oversize = 1;
			e.size = 0;
			e.data = NULL;
		}
		if (cb(&e, ctx) < 0)
			FAIL("stopped at '%s'", e.name);
	}
	/*
	 * No whole end-of-archive block: a cut tail of zeros still ends it;
	 * cut on a block or inside a header (a PAX block cut in its padding
	 * leaves off past len), not every entry was seen.
	 */
	if (off > len || (off != len && !ustar_is_zero(buf + off, len - off)))
		FAIL("archive ends inside a header");
	if (off == len)
		FAIL("archive cut short");
	return 0;
}
