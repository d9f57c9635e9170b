#include "ustar.h"

#include <string.h>

#include "utf8.h"

int
ustar_is_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/*
 * An octal field: leading spaces, at least one digit, then only NUL or space
 * to the end. A base-256 field (first byte 0x80 or 0xff) has no digit first,
 * so it is refused here too.
 */
static int
octal(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

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
		if (f[i] != '\0' && f[i] != ' ')
			return -1;
	*out = v;
	return 0;
}

/* a NUL-padded string field into out (n + 1 bytes): -1 if bytes follow its NUL */
static int
string(const unsigned char *f, size_t n, char *out, size_t *len)
{
	size_t i;

	for (i = 0; i < n && f[i] != '\0'; i++)
		;
	memcpy(out, f, i);
	out[i] = '\0';
	if (len != NULL)
		*len = i;
	return ustar_is_zero(f + i, n - i) ? 0 : -1;
}

int
ustar_parse(const unsigned char blk[USTAR_BLOCK], struct ustar_hdr *h)
{
	char name[USTAR_NAME_LEN + 1], prefix[USTAR_PREFIX_LEN + 1];
	const struct {
		size_t		off, len;
		uint64_t	*v;
		unsigned int	bit;
	} num[] = {
		{ USTAR_MODE, USTAR_MODE_LEN, &h->mode, USTAR_BAD_MODE },
		{ USTAR_UID, USTAR_UID_LEN, &h->uid, USTAR_BAD_UID },
		{ USTAR_GID, USTAR_GID_LEN, &h->gid, USTAR_BAD_GID },
		{ USTAR_SIZE, USTAR_SIZE_LEN, &h->size, USTAR_BAD_SIZE },
		{ USTAR_MTIME, USTAR_MTIME_LEN, &h->mtime, USTAR_BAD_MTIME },
		{ USTAR_DEVMAJOR, USTAR_DEV_LEN, &h->devmajor, USTAR_BAD_DEV },
		{ USTAR_DEVMINOR, USTAR_DEV_LEN, &h->devminor, USTAR_BAD_DEV },
	};
	uint64_t sum;
	size_t i, nlen, plen;

	memset(h, 0, sizeof(*h));
	if (octal(blk + USTAR_CKSUM, USTAR_CKSUM_LEN, &sum) != 0 ||
	    sum != ustar_checksum(blk))
		h->bad |= USTAR_BAD_CKSUM;
	if (memcmp(blk + USTAR_MAGIC, "ustar", 5) != 0)
		h->bad |= USTAR_BAD_MAGIC;
	if (memcmp(blk + USTAR_MAGIC + 5, "\0" "00", 3) != 0)
		h->bad |= USTAR_BAD_VERSION;
	for (i = 0; i < sizeof(num) / sizeof(num[0]); i++) {
		if (num[i].bit == USTAR_BAD_DEV &&
		    ustar_is_zero(blk + num[i].off, num[i].len))
			continue;	/* left empty: 0 */
		if (octal(blk + num[i].off, num[i].len, num[i].v) != 0) {
			*num[i].v = 0;
			h->bad |= num[i].bit;
		}
	}
	h->type = blk[USTAR_TYPE];

	if (string(blk + USTAR_NAME, USTAR_NAME_LEN, name, &nlen) != 0)
		h->bad |= USTAR_BAD_NAMEPAD;
	if (string(blk + USTAR_PREFIX, USTAR_PREFIX_LEN, prefix, &plen) != 0)
		h->bad |= USTAR_BAD_NAMEPAD;
	if (string(blk + USTAR_LINK, USTAR_LINK_LEN, h->linkname, &h->linklen) != 0)
		h->bad |= USTAR_BAD_LINKPAD;
	if (string(blk + USTAR_UNAME, USTAR_UNAME_LEN, h->uname, NULL) != 0)
		h->bad |= USTAR_BAD_OWNERPAD;
	if (string(blk + USTAR_GNAME, USTAR_GNAME_LEN, h->gname, NULL) != 0)
		h->bad |= USTAR_BAD_OWNERPAD;
	if (!ustar_is_zero(blk + USTAR_TAIL, USTAR_TAIL_LEN))
		h->bad |= USTAR_BAD_TAIL;

	/* the path: prefix '/' name, at most 155 + 1 + 100 bytes */
	if (plen > 0) {
		memcpy(h->path, prefix, plen);
		h->path[plen] = '/';
		h->pathlen = plen + 1;
	}
	memcpy(h->path + h->pathlen, name, nlen);
	h->pathlen += nlen;
	h->path[h->pathlen] = '\0';
	return h->bad == 0 ? 0 : -1;
}

int
ustar_pax_next(const unsigned char *p, size_t n, size_t *off,
    struct ustar_pax_rec *r)
{
	const unsigned char *key, *eq, *end;
	size_t o = *off, i = o, len = 0;

	if (o >= n)
		return 0;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		len = len * 10 + (size_t)(p[i] - '0');
		if (len > n)
			return -1;
	}
	if (i == o || i >= n || p[i] != ' ' || len < 5 || len > n - o ||
	    p[o + len - 1] != '\n')
		return -1;
	/* the '\n' is past the digits and the space, so key <= end */
	key = p + i + 1;
	end = p + o + len - 1;
	if ((eq = memchr(key, '=', (size_t)(end - key))) == NULL)
		return -1;
	r->key = (const char *)key;
	r->klen = (size_t)(eq - key);
	r->val = (const char *)eq + 1;
	r->vlen = (size_t)(end - eq - 1);
	r->digits = i - o;
	*off = o + len;
	return 1;
}

int
ustar_pax_is(const struct ustar_pax_rec *r, const char *key)
{
	size_t n = strlen(key);

	return r->klen == n && memcmp(r->key, key, n) == 0;
}

int
ustar_pax_uint(const char *val, size_t vlen, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (vlen == 0 || vlen > 19)
		return -1;
	for (i = 0; i < vlen; i++) {
		if (val[i] < '0' || val[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(val[i] - '0');
	}
	*out = v;
	return 0;
}

int
ustar_name_text_ok(const char *s, size_t n)
{
	size_t i;

	if (!utf8_valid((const unsigned char *)s, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
ustar_dots(const char *c, size_t n)
{
	if (n == 1 && c[0] == '.')
		return 1;
	if (n == 2 && c[0] == '.' && c[1] == '.')
		return 2;
	return 0;
}
