#include "tar.h"

#include <stdio.h>
#include <string.h>

#include "ustar.h"

_Static_assert(SP_NAME_MAX >= USTAR_OUT_PATH_MAX,
    "a path frontd keeps fits sockproxy's PAX path buffer");

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
	if (!ustar_name_text_ok(s, n))
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
		if (i == start || ustar_dots(s + start, i - start) != 0)
			return 0;
		start = i + 1;
	}
	return 1;
}

/* PAX records: only a path and times pass */
static int
parse_pax(struct sp_tar *t, const unsigned char *p, size_t n)
{
	struct ustar_pax_rec r;
	size_t off = 0, k;
	int more;

	t->have_pax_path = 0;
	t->have_pax_link = 0;
	t->long_name = 0;
	while ((more = ustar_pax_next(p, n, &off, &r)) > 0) {
		if (r.digits > 6)	/* a record is at most SP_PAX_MAX */
			return bad(t, "malformed PAX record", NULL);
		if (ustar_pax_is(&r, "path") && r.vlen > USTAR_OUT_PATH_MAX) {
			/* well-formed, longer than frontd keeps: left out */
			t->long_name = 1;
		} else if (ustar_pax_is(&r, "path")) {
			if (memchr(r.val, '\0', r.vlen) != NULL)
				return bad(t, "NUL in a PAX path", NULL);
			memcpy(t->pax_path, r.val, r.vlen);
			t->pax_path[r.vlen] = '\0';
			t->have_pax_path = 1;
		} else if (ustar_pax_is(&r, "linkpath")) {
			t->have_pax_link = 1;	/* only before an entry left out */
		} else if (ustar_pax_is(&r, "mtime") || ustar_pax_is(&r, "atime") ||
		    ustar_pax_is(&r, "ctime")) {
			for (k = 0; k < r.vlen; k++)
				if (!((r.val[k] >= '0' && r.val[k] <= '9') ||
				    r.val[k] == '.'))
					return bad(t, "PAX time not a number", NULL);
		} else {
			char key[40];

			snprintf(key, sizeof(key), "%.*s",
			    (int)(r.klen < 32 ? r.klen : 32), r.key);
			return bad(t, "PAX record not allowed", key);
		}
	}
	if (more != 0)
		return bad(t, "malformed PAX record", NULL);
	return 0;
}

/*
 * Check one header block (not a zero block). Sets left/pad/skip for what
 * follows. PAX headers start a PAX block instead.
 */
static int
check_header(struct sp_tar *t)
{
	struct ustar_hdr h;
	const char *name;
	size_t len;
	int dir, long_name;

	(void)ustar_parse(t->hdr, &h);
	if (h.bad & USTAR_BAD_CKSUM)
		return bad(t, "bad header checksum", NULL);
	if (h.bad & (USTAR_BAD_MAGIC | USTAR_BAD_VERSION))
		return bad(t, "not a ustar header", NULL);
	if (h.bad & (USTAR_BAD_MODE | USTAR_BAD_UID | USTAR_BAD_GID |
	    USTAR_BAD_SIZE | USTAR_BAD_MTIME))
		return bad(t, "bad numeric field", NULL);
	if (h.bad & (USTAR_BAD_NAMEPAD | USTAR_BAD_TAIL))
		return bad(t, "garbage after a name", NULL);
	if (t->entries++ >= t->max_entries)
		return bad(t, "too many entries", NULL);

	if (h.type == USTAR_PAX && t->mode == SP_TAR_GET) {
		if (t->in_pax)
			return bad(t, "two PAX blocks for one entry", NULL);
		if (h.size == 0 || h.size > SP_PAX_MAX)
			return bad(t, "PAX block size", NULL);
		t->in_pax = 1;
		memcpy(t->pax, t->hdr, USTAR_BLOCK);
		t->paxlen = USTAR_BLOCK;
		t->pax_size = h.size;
		t->left = h.size;
		t->pad = ustar_padded(h.size) - h.size;
		return 0;
	}

	/* the full name: PAX path, else ustar prefix '/' name */
	if (t->have_pax_path) {
		name = t->pax_path;
		len = strlen(t->pax_path);
	} else {
		if (h.pathlen > SP_NAME_MAX && t->mode == SP_TAR_PUT)
			return bad(t, "name too long", NULL);
		if (h.pathlen > USTAR_OUT_PATH_MAX)
			t->long_name = 1;
		name = h.path;
		len = h.pathlen;
	}
	t->have_pax_path = 0;
	long_name = t->long_name;
	t->long_name = 0;

	if (t->mode == SP_TAR_GET && (h.type == USTAR_HARDLINK ||
	    h.type == USTAR_SYMLINK || h.type == USTAR_FIFO)) {
		/* what the program may make in its own directory: left out */
		if (h.size != 0)
			return bad(t, "link or FIFO with data", NULL);
		t->skip = 1;
		t->skipped++;
		t->left = 0;
		t->pad = 0;
		return 0;
	}
	if (h.type != USTAR_FILE && h.type != USTAR_DIR)
		return bad(t, "entry type not allowed (only files and directories)", NULL);
	dir = h.type == USTAR_DIR;
	if (h.linklen != 0 || (h.bad & USTAR_BAD_LINKPAD))
		return bad(t, "link name on a file or directory", NULL);
	if ((h.bad & USTAR_BAD_DEV) || h.devmajor != 0 || h.devminor != 0)
		return bad(t, "device numbers on a file or directory", NULL);
	if (dir && h.size != 0)
		return bad(t, "directory with data", NULL);

	if (t->mode == SP_TAR_PUT) {
		if (h.mode > 0777)
			return bad(t, "mode above 0777", NULL);
		if (h.uid != t->uid || h.gid != t->uid)
			return bad(t, "owner is not the sandbox user", NULL);
		if (h.uname[0] != '\0' || h.gname[0] != '\0' ||
		    (h.bad & USTAR_BAD_OWNERPAD))
			return bad(t, "user or group name set", NULL);
		if (!name_ok(name, len, dir))
			return bad(t, "name not allowed", name);
	} else {
		uint64_t want = dir ? 040000 : 0100000;

		if (h.bad & USTAR_BAD_OWNERPAD)
			return bad(t, "garbage after a user or group name", NULL);

		if ((h.mode & ~07777ULL) != want && (h.mode & ~07777ULL) != 0)
			return bad(t, "mode type bits disagree with the type", NULL);
		if (t->entries == 1) {
			if (!dir || strcmp(name, "data/") != 0)
				return bad(t, "first entry is not data/", NULL);
		} else if (long_name) {
			/* a path over USTAR_OUT_PATH_MAX: left out, as frontd would */
			t->skip = 1;
			t->long_names++;
		} else if (len <= 5 || memcmp(name, "data/", 5) != 0) {
			return bad(t, "name not allowed", name);
		} else if (!ustar_name_text_ok(name + 5, len - 5)) {
			/*
			 * bytes the program may give a name (not UTF-8, a
			 * control character) that frontd would not store:
			 * left out, as frontd would. A shape the daemon
			 * never makes (., .., an empty part) is refused.
			 */
			t->skip = 1;
			t->bad_names++;
		} else if (!name_ok(name + 5, len - 5, dir)) {
			return bad(t, "name not allowed", name);
		}
	}
	if (h.size > t->max_bytes - t->bytes)
		return bad(t, "archive holds more than the cap", NULL);
	t->bytes += h.size;
	t->left = h.size;
	t->pad = ustar_padded(h.size) - h.size;
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

	if (ustar_is_zero(t->hdr, USTAR_BLOCK)) {
		if (had_pax)
			return bad(t, "PAX block without its entry", NULL);
		t->state = ST_ZERO;
		return emit(t, t->hdr, USTAR_BLOCK, out, ctx);
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
	return emit(t, t->hdr, USTAR_BLOCK, out, ctx);
}

static int
data_done(struct sp_tar *t)
{
	if (t->in_pax == 1) {
		/* the PAX block is whole: read its records */
		if (parse_pax(t, t->pax + USTAR_BLOCK, (size_t)t->pax_size) != 0)
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
			k = USTAR_BLOCK - t->hlen;
			if (k > n)
				k = n;
			memcpy(t->hdr + t->hlen, p, k);
			t->hlen += k;
			p += k;
			n -= k;
			if (t->hlen < USTAR_BLOCK)
				break;
			t->hlen = 0;
			if (t->state == ST_ZERO) {
				if (!ustar_is_zero(t->hdr, USTAR_BLOCK))
					return bad(t, "one zero block, then data", NULL);
				t->state = ST_DONE;
				if (emit(t, t->hdr, USTAR_BLOCK, out, ctx) != 0)
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
				if (!ustar_is_zero(p, k))
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
