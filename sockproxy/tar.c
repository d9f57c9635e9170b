#include "tar.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

enum {
	ST_HEADER,	/* collecting a header block */
	ST_DATA,	/* file data (and its padding) */
	ST_ZERO,	/* one zero block seen, the second must follow */
	ST_DONE,	/* two zero blocks: nothing more may come */
	ST_BAD,
};

void
sp_tar_init(struct sp_tar *t, enum sp_tar_mode mode, uint32_t uid,
    uint64_t max_bytes, uint64_t max_entries)
{
	memset(t, 0, sizeof(*t));
	t->mode = mode;
	t->uid = uid;
	t->max_bytes = max_bytes;
	t->max_entries = max_entries;
	t->state = ST_HEADER;
}

static int
bad(struct sp_tar *t, const char *fmt, const char *arg)
{
	char esc[64];

	if (arg != NULL)
		snprintf(t->why, sizeof(t->why), "%s: '%s'", fmt,
		    log_str(esc, sizeof(esc), arg, strlen(arg)));
	else
		snprintf(t->why, sizeof(t->why), "%s", fmt);
	t->state = ST_BAD;
	return -1;
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

/*
 * An octal field: optional leading spaces or zeros are digits, then at
 * least one digit, then only NUL or space to the end. No base-256.
 */
static int
octal(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int digits = 0;

	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		if (v > (UINT64_MAX >> 3))
			return -1;
		v = (v << 3) | (uint64_t)(f[i] - '0');
	}
	if (digits == 0)
		return -1;
	for (; i < n; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return -1;
	*out = v;
	return 0;
}

/* an octal field that is either all NUL or a valid zero */
static int
zero_field(const unsigned char *f, size_t n)
{
	uint64_t v;

	return all_zero(f, n) || (octal(f, n, &v) == 0 && v == 0);
}

/* a NUL-padded string field: its length, -1 if bytes follow the NUL */
static int
str_field(const unsigned char *f, size_t n, size_t *len)
{
	size_t i;

	for (i = 0; i < n && f[i] != '\0'; i++)
		;
	if (!all_zero(f + i, n - i))
		return -1;
	*len = i;
	return 0;
}

/*
 * A relative path: components of printable UTF-8, none empty, "." or "..";
 * dir says whether it must end in exactly one '/'.
 */
static int
name_ok(const char *s, size_t n, int dir)
{
	size_t i, start = 0;

	if (n == 0 || n > SP_NAME_MAX || s[0] == '/')
		return 0;
	if (!utf8_valid((const unsigned char *)s, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	if (dir) {
		if (s[n - 1] != '/')
			return 0;
		n--;
	} else if (s[n - 1] == '/') {
		return 0;
	}
	if (n == 0)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (i == start)
			return 0;
		if ((i - start == 1 && s[start] == '.') ||
		    (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return 0;
		start = i + 1;
	}
	return 1;
}

static int
checksum_ok(const unsigned char *h)
{
	uint64_t want;
	unsigned int sum = 0;
	size_t i;

	if (octal(h + 148, 8, &want) != 0)
		return 0;
	for (i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

/* PAX records: "<len> <key>=<value>\n"; only a path and times pass */
static int
parse_pax(struct sp_tar *t, const unsigned char *p, size_t n)
{
	size_t off = 0;

	t->have_pax_path = 0;
	t->have_pax_link = 0;
	while (off < n) {
		size_t rlen = 0, i = off, klen;
		const unsigned char *key, *val, *eq;

		while (i < n && p[i] >= '0' && p[i] <= '9' && i - off < 6)
			rlen = rlen * 10 + (size_t)(p[i++] - '0');
		if (i == off || i >= n || p[i] != ' ' || rlen < 5 ||
		    rlen > n - off || p[off + rlen - 1] != '\n')
			return bad(t, "malformed PAX record", NULL);
		key = p + i + 1;
		eq = memchr(key, '=', (size_t)(p + off + rlen - 1 - key));
		if (eq == NULL)
			return bad(t, "malformed PAX record", NULL);
		klen = (size_t)(eq - key);
		val = eq + 1;
		i = (size_t)(p + off + rlen - 1 - val);	/* value length */
		if (klen == 4 && memcmp(key, "path", 4) == 0) {
			if (i > SP_NAME_MAX || memchr(val, '\0', i) != NULL)
				return bad(t, "PAX path too long", NULL);
			memcpy(t->pax_path, val, i);
			t->pax_path[i] = '\0';
			t->have_pax_path = 1;
		} else if (klen == 8 && memcmp(key, "linkpath", 8) == 0) {
			t->have_pax_link = 1;	/* only before an entry left out */
		} else if ((klen == 5 && (memcmp(key, "mtime", 5) == 0 ||
		    memcmp(key, "atime", 5) == 0 || memcmp(key, "ctime", 5) == 0))) {
			size_t k;

			for (k = 0; k < i; k++)
				if (!((val[k] >= '0' && val[k] <= '9') || val[k] == '.'))
					return bad(t, "PAX time not a number", NULL);
		} else {
			char k[40];

			snprintf(k, sizeof(k), "%.*s", (int)(klen < 32 ? klen : 32),
			    (const char *)key);
			return bad(t, "PAX record not allowed", k);
		}
		off += rlen;
	}
	return 0;
}

/*
 * Check one header block (not a zero block). Sets left/pad/skip for what
 * follows. PAX headers start a PAX block instead.
 */
static int
check_header(struct sp_tar *t)
{
	const unsigned char *h = t->hdr;
	char name[SP_NAME_MAX + 2];
	size_t nlen, plen, len;
	uint64_t mode, uid, gid, size, mtime;
	unsigned char type = h[156];
	int dir;

	if (!checksum_ok(h))
		return bad(t, "bad header checksum", NULL);
	if (memcmp(h + 257, "ustar\0" "00", 8) != 0)
		return bad(t, "not a ustar header", NULL);
	if (octal(h + 100, 8, &mode) || octal(h + 108, 8, &uid) ||
	    octal(h + 116, 8, &gid) || octal(h + 124, 12, &size) ||
	    octal(h + 136, 12, &mtime))
		return bad(t, "bad numeric field", NULL);
	if (str_field(h, 100, &nlen) || str_field(h + 345, 155, &plen) ||
	    !all_zero(h + 500, 12))
		return bad(t, "garbage after a name", NULL);
	if (t->entries++ >= t->max_entries)
		return bad(t, "too many entries", NULL);

	if (type == 'x' && t->mode == SP_TAR_GET) {
		if (t->in_pax)
			return bad(t, "two PAX blocks for one entry", NULL);
		if (size == 0 || size > SP_PAX_MAX)
			return bad(t, "PAX block size", NULL);
		t->in_pax = 1;
		memcpy(t->pax, h, 512);
		t->paxlen = 512;
		t->pax_size = size;
		t->left = size;
		t->pad = (512 - size % 512) % 512;
		return 0;
	}

	/* the full name: PAX path, else ustar prefix '/' name */
	if (t->have_pax_path) {
		len = strlen(t->pax_path);
		memcpy(name, t->pax_path, len + 1);
	} else {
		if (plen + 1 + nlen > SP_NAME_MAX)
			return bad(t, "name too long", NULL);
		len = 0;
		if (plen > 0) {
			memcpy(name, h + 345, plen);
			name[plen] = '/';
			len = plen + 1;
		}
		memcpy(name + len, h, nlen);
		len += nlen;
		name[len] = '\0';
	}
	t->have_pax_path = 0;

	if (t->mode == SP_TAR_GET && (type == '1' || type == '2' || type == '6')) {
		/* what the program may make in its own directory: left out */
		if (size != 0)
			return bad(t, "link or FIFO with data", NULL);
		t->skip = 1;
		t->skipped++;
		t->left = 0;
		t->pad = 0;
		return 0;
	}
	if (type != '0' && type != '5')
		return bad(t, "entry type not allowed (only files and directories)", NULL);
	dir = type == '5';
	if (!all_zero(h + 157, 100))
		return bad(t, "link name on a file or directory", NULL);
	if (!zero_field(h + 329, 8) || !zero_field(h + 337, 8))
		return bad(t, "device numbers on a file or directory", NULL);
	if (dir && size != 0)
		return bad(t, "directory with data", NULL);

	if (t->mode == SP_TAR_PUT) {
		if (mode > 0777)
			return bad(t, "mode above 0777", NULL);
		if (uid != t->uid || gid != t->uid)
			return bad(t, "owner is not the sandbox user", NULL);
		if (!all_zero(h + 265, 64))
			return bad(t, "user or group name set", NULL);
		if (!name_ok(name, len, dir))
			return bad(t, "name not allowed", name);
	} else {
		uint64_t want = dir ? 040000 : 0100000;
		size_t ulen;

		if (str_field(h + 265, 32, &ulen) || str_field(h + 297, 32, &ulen))
			return bad(t, "garbage after a user or group name", NULL);

		if ((mode & ~07777ULL) != want && (mode & ~07777ULL) != 0)
			return bad(t, "mode type bits disagree with the type", NULL);
		if (t->entries == 1) {
			if (!dir || strcmp(name, "data/") != 0)
				return bad(t, "first entry is not data/", NULL);
		} else if (len <= 5 || memcmp(name, "data/", 5) != 0 ||
		    !name_ok(name + 5, len - 5, dir)) {
			return bad(t, "name not allowed", name);
		}
	}
	if (size > t->max_bytes - t->bytes)
		return bad(t, "archive holds more than the cap", NULL);
	t->bytes += size;
	t->left = size;
	t->pad = (512 - size % 512) % 512;
	return 0;
}

static int
emit(struct sp_tar *t, const unsigned char *p, size_t n, sp_tar_out_fn out,
    void *ctx)
{
	if (n == 0 || t->skip)
		return 0;
	if (t->in_pax) {
		if (t->paxlen + n > sizeof(t->pax))
			return bad(t, "PAX block too large", NULL);
		memcpy(t->pax + t->paxlen, p, n);
		t->paxlen += n;
		return 0;
	}
	if (out(ctx, p, n) != 0)
		return bad(t, "cannot pass the archive on", NULL);
	return 0;
}

/* a whole header block is in t->hdr */
static int
on_header(struct sp_tar *t, sp_tar_out_fn out, void *ctx)
{
	int had_pax = t->in_pax == 2;

	if (all_zero(t->hdr, 512)) {
		if (had_pax)
			return bad(t, "PAX block without its entry", NULL);
		t->state = ST_ZERO;
		return emit(t, t->hdr, 512, out, ctx);
	}
	if (check_header(t) != 0)
		return -1;
	t->state = ST_DATA;
	if (t->in_pax == 1)
		return 0;	/* a PAX block begins */
	t->in_pax = 0;
	if (had_pax && !t->skip) {
		/* the PAX block belongs to a kept entry: pass it on first */
		if (t->have_pax_link)
			return bad(t, "PAX linkpath on a file or directory", NULL);
		if (out(ctx, t->pax, t->paxlen) != 0)
			return bad(t, "cannot pass the archive on", NULL);
	}
	t->paxlen = 0;
	t->have_pax_link = 0;
	return emit(t, t->hdr, 512, out, ctx);
}

static int
data_done(struct sp_tar *t)
{
	if (t->in_pax == 1) {
		/* the PAX block is whole: read its records */
		if (parse_pax(t, t->pax + 512, (size_t)t->pax_size) != 0)
			return -1;
		t->in_pax = 2;
	}
	t->skip = 0;
	t->state = ST_HEADER;
	return 0;
}

int
sp_tar_feed(struct sp_tar *t, const unsigned char *p, size_t n,
    sp_tar_out_fn out, void *ctx)
{
	while (n > 0) {
		size_t k;

		switch (t->state) {
		case ST_HEADER:
		case ST_ZERO:
			k = 512 - t->hlen;
			if (k > n)
				k = n;
			memcpy(t->hdr + t->hlen, p, k);
			t->hlen += k;
			p += k;
			n -= k;
			if (t->hlen < 512)
				break;
			t->hlen = 0;
			if (t->state == ST_ZERO) {
				if (!all_zero(t->hdr, 512))
					return bad(t, "one zero block, then data", NULL);
				t->state = ST_DONE;
				if (emit(t, t->hdr, 512, out, ctx) != 0)
					return -1;
				break;
			}
			if (on_header(t, out, ctx) != 0)
				return -1;
			if (t->state == ST_DATA && t->left == 0 && t->pad == 0 &&
			    data_done(t) != 0)
				return -1;
			break;
		case ST_DATA:
			if (t->left > 0) {
				k = t->left < n ? (size_t)t->left : n;
				if (emit(t, p, k, out, ctx) != 0)
					return -1;
				t->left -= k;
			} else {
				k = t->pad < n ? (size_t)t->pad : n;
				if (!all_zero(p, k))
					return bad(t, "padding is not zero", NULL);
				if (emit(t, p, k, out, ctx) != 0)
					return -1;
				t->pad -= k;
			}
			p += k;
			n -= k;
			if (t->left == 0 && t->pad == 0 && data_done(t) != 0)
				return -1;
			break;
		case ST_DONE:
			return bad(t, "bytes after the end of the archive", NULL);
		default:
			return -1;
		}
	}
	return 0;
}

int
sp_tar_finish(struct sp_tar *t)
{
	if (t->state == ST_BAD)
		return -1;
	if (t->state != ST_DONE) {
		snprintf(t->why, sizeof(t->why), "archive cut short");
		return -1;
	}
	return 0;
}
