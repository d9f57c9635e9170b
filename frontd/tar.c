#include "tar.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

static int
parse_octal(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	/* base-256 (GNU) for huge values: refused, no file is that large */
	if (n > 0 && (f[0] & 0x80))
		return -1;
	while (i < n && f[i] == ' ')
		i++;
	if (i == n || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return -1;
		v = (v << 3) | (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static int
checksum_ok(const unsigned char *h)
{
	uint64_t want;
	unsigned int sum = 0;
	size_t i;

	if (parse_octal(h + 148, 8, &want) < 0)
		return 0;
	for (i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

static int
all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

int
tar_clean_name(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (!utf8_valid((const unsigned char *)in, inlen))
		return -1;
	while (i < inlen) {
		size_t start, clen;

		while (i < inlen && in[i] == '/')
			i++;
		start = i;
		while (i < inlen && in[i] != '/') {
			if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f)
				return -1;
			i++;
		}
		clen = i - start;
		if (clen == 0 || (clen == 1 && in[start] == '.'))
			continue;
		if (clen == 2 && in[start] == '.' && in[start + 1] == '.')
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

/* PAX records: "<len> <key>=<value>\n"; take path and size */
static int
parse_pax(const unsigned char *p, size_t n, char *path, size_t pathlen,
    int *have_path, uint64_t *size, int *have_size)
{
	size_t off = 0;

	while (off < n) {
		size_t reclen = 0, i = off, klen;
		const unsigned char *key, *val, *eq;

		while (i < n && p[i] >= '0' && p[i] <= '9') {
			reclen = reclen * 10 + (size_t)(p[i] - '0');
			if (reclen > n)
				return -1;
			i++;
		}
		if (i == off || i >= n || p[i] != ' ' || reclen < 5 ||
		    reclen > n - off || p[off + reclen - 1] != '\n')
			return -1;
		key = p + i + 1;
		eq = memchr(key, '=', (size_t)(p + off + reclen - 1 - key));
		if (eq == NULL)
			return -1;
		klen = (size_t)(eq - key);
		val = eq + 1;
		if (klen == 4 && memcmp(key, "path", 4) == 0) {
			size_t vlen = (size_t)(p + off + reclen - 1 - val);

			if (vlen >= pathlen)
				return -1;
			memcpy(path, val, vlen);
			path[vlen] = '\0';
			*have_path = 1;
		} else if (klen == 4 && memcmp(key, "size", 4) == 0) {
			size_t vlen = (size_t)(p + off + reclen - 1 - val), k;
			uint64_t v = 0;

			if (vlen == 0 || vlen > 19)
				return -1;
			for (k = 0; k < vlen; k++) {
				if (val[k] < '0' || val[k] > '9')
					return -1;
				v = v * 10 + (uint64_t)(val[k] - '0');
			}
			*size = v;
			*have_size = 1;
		}
		off += reclen;
	}
	return 0;
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

	while (off + 512 <= len) {
		const unsigned char *h = buf + off;
		char raw[1024], clean[TAR_NAME_MAX + 1];
		struct tar_entry e;
		uint64_t size;
		size_t rawlen, nlen, plen;
		unsigned char type;

		if (all_zero(h, 512))
			return 0;	/* end of archive */
		if (++entries > lim->entries_max)
			FAIL("more than %zu entries", lim->entries_max);
		if (!checksum_ok(h))
			FAIL("bad header checksum at %zu", off);
		if (memcmp(h + 257, "ustar", 5) != 0)
			FAIL("not a ustar header at %zu", off);
		if (parse_octal(h + 124, 12, &size) < 0)
			FAIL("bad size field at %zu", off);
		type = h[156];
		if (type == 'x' || type == 'g') {
			if (size > 64 * 1024 || size > len - off - 512)
				FAIL("PAX header too large");
			if (type == 'x' && parse_pax(h + 512, (size_t)size, pax_path,
			    sizeof(pax_path), &have_pax_path, &pax_size,
			    &have_pax_size) < 0)
				FAIL("bad PAX header");
			off += 512 + (size_t)((size + 511) / 512 * 512);
			continue;
		}
		if (have_pax_size)
			size = pax_size;
		if (type == '0' || type == '\0' || type == '7') {
			if (size > lim->file_max)
				FAIL("a file is larger than %llu bytes",
				    (unsigned long long)lim->file_max);
		} else if (type != '5')
			size = (type == '1' || type == '2' || type == '3' ||
			    type == '4' || type == '6') ? 0 : size;
		if (size > len - off - 512)
			FAIL("entry data runs past the end");
		/* the name: PAX path, else ustar prefix '/' name */
		if (have_pax_path) {
			rawlen = strlen(pax_path);
			memcpy(raw, pax_path, rawlen);
		} else {
			nlen = strnlen((const char *)h, 100);
			plen = strnlen((const char *)h + 345, 155);
			rawlen = 0;
			if (plen > 0) {
				memcpy(raw, h + 345, plen);
				raw[plen] = '/';
				rawlen = plen + 1;
			}
			memcpy(raw + rawlen, h, nlen);
			rawlen += nlen;
		}
		raw[rawlen] = '\0';
		have_pax_path = have_pax_size = 0;
		off += 512 + (size_t)((size + 511) / 512 * 512);
		if (off > len)
			FAIL("entry data runs past the end");

		if (type != '0' && type != '\0' && type != '7' && type != '5')
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
		e.type = type == '5' ? TAR_DIR : TAR_FILE;
		e.size = e.type == TAR_DIR ? 0 : size;
		e.data = h + 512;
		if (cb(&e, ctx) < 0)
			FAIL("stopped at '%s'", e.name);
	}
	if (off != len && !(off + 512 > len && all_zero(buf + off, len - off)))
		FAIL("archive ends inside a header");
	return 0;
}
