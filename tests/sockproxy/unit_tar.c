/*
 * The streaming tar checker, upload and download. Uploads are built with
 * privd's own tar writer (tarw.c), so the producer and the checker agree.
 */
#include <stdlib.h>
#include <unistd.h>

#include "sp_check.h"
#include "tar.h"
#include "ustar.h"
#include "tarw.h"
#include "util.h"

struct sink {
	unsigned char	*p;
	size_t		len, cap;
};

static int
out(void *ctx, const unsigned char *p, size_t n)
{
	struct sink *s = ctx;

	if (s->len + n > s->cap)
		return -1;
	memcpy(s->p + s->len, p, n);
	s->len += n;
	return 0;
}

static unsigned char emitted[1 << 20];

/* feed in pieces of 'step' bytes; 0 when accepted and finished */
static int
check_tar(enum sp_tar_mode mode, const unsigned char *t, size_t len, size_t step,
    uint64_t cap, struct sink *s, char *why)
{
	static struct sp_tar st;
	size_t off;

	s->p = emitted;
	s->len = 0;
	s->cap = sizeof(emitted);
	sp_tar_init(&st, mode, 10001, cap, 64);
	for (off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		if (sp_tar_feed(&st, t + off, n, out, s) != 0) {
			snprintf(why, 128, "%s", st.why);
			return -1;
		}
	}
	if (sp_tar_finish(&st) != 0) {
		snprintf(why, 128, "%s", st.why);
		return -1;
	}
	return 0;
}

static void
octal(unsigned char *f, size_t w, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(w - 1), (unsigned long long)v);
	memcpy(f, tmp, w - 1);
	f[w - 1] = 0;
}

static void
sum(unsigned char *h)
{
	unsigned int s = 0;
	size_t i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		s += h[i];
	snprintf((char *)h + 148, 8, "%06o", s);
	h[155] = ' ';
}

/* a ustar header the way the daemon's Go writer makes them */
static void
hdr(unsigned char *h, const char *name, char type, uint64_t mode, uint64_t size)
{
	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	octal(h + 100, 8, mode);
	octal(h + 108, 8, 10001);
	octal(h + 116, 8, 10001);
	octal(h + 124, 12, size);
	octal(h + 136, 12, 1700000000);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	sum(h);
}

/* one PAX record "<len> key=value\n" with its length right */
static size_t
pax_rec(unsigned char *out, const char *key, const char *val)
{
	size_t body = strlen(key) + strlen(val) + 2, n = body + 2;

	while ((size_t)snprintf(NULL, 0, "%zu ", n) + body != n)
		n++;
	return (size_t)sprintf((char *)out, "%zu %s=%s\n", n, key, val);
}

static size_t
tarw_bytes(struct tarw *tw, unsigned char *buf, size_t cap)
{
	size_t len = (size_t)tarw_size(tw), got = 0;

	if (len > cap)
		return 0;
	while (got < len) {
		size_t n = tarw_fill((char *)buf + got, len - got, tw);

		if (n == 0 || tw->failed)
			return 0;
		got += n;
	}
	return len;
}

static int
memfd_with(const char *data)
{
	int fd = cw_memfd("t");

	if (fd >= 0 && cw_write_all(fd, data, strlen(data)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
main(void)
{
	static unsigned char t[1 << 19], g[1 << 16];
	static struct tarw tw;
	struct sink s;
	char why[128];
	size_t len, steps[] = { 1, 7, 512, 513, 100000 }, i;
	unsigned char *h;
	int fd1, fd2;

	/* privd's tar: a program and a file in a subfolder */
	fd1 = memfd_with("print(1)\n");
	fd2 = memfd_with("a,b\n1,2\n");
	tarw_init(&tw, 10001, 1700000000);
	CHECK(tarw_add_file(&tw, ".codeward/code", fd1, 9) == 0);
	CHECK(tarw_add_file(&tw, "sub/deeper/x.csv", fd2, 8) == 0);
	len = tarw_bytes(&tw, t, sizeof(t));
	CHECK(len > 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		CHECK(check_tar(SP_TAR_PUT, t, len, steps[i], 1 << 20, &s, why) == 0);
		CHECK(s.len == len && memcmp(s.p, t, len) == 0);	/* all of it, as is */
	}
	CHECK(check_tar(SP_TAR_PUT, t, len, 512, 16, &s, why) != 0);	/* data cap */
	CHECK(check_tar(SP_TAR_PUT, t, len - 512, 512, 1 << 20, &s, why) != 0);
	CHECK(strstr(why, "cut short") != NULL);

	/* upload: one change to privd's first header at a time */
#define MUTATE(what, stmt) do {						\
		memcpy(g, t, len);					\
		h = g;							\
		stmt;							\
		sum(h);							\
		CHECK_CASE(check_tar(SP_TAR_PUT, g, len, 512, 1 << 20, &s, \
		    why) != 0, what);					\
		CHECK_CASE(s.len == 0, what);	/* not one byte passed */ \
	} while (0)
	MUTATE("symlink", h[156] = '2');
	MUTATE("hard link", h[156] = '1');
	MUTATE("char device", h[156] = '3');
	MUTATE("block device", h[156] = '4');
	MUTATE("fifo", h[156] = '6');
	MUTATE("contiguous", h[156] = '7');
	MUTATE("pax", h[156] = 'x');
	MUTATE("pax global", h[156] = 'g');
	MUTATE("gnu long name", h[156] = 'L');
	MUTATE("old regular", h[156] = '\0');
	MUTATE("setuid", octal(h + 100, 8, 04755));
	MUTATE("setgid", octal(h + 100, 8, 02755));
	MUTATE("sticky", octal(h + 100, 8, 01755));
	MUTATE("type bits", octal(h + 100, 8, 040755));
	MUTATE("uid 0", octal(h + 108, 8, 0));
	MUTATE("gid 0", octal(h + 116, 8, 0));
	MUTATE("uname", memcpy(h + 265, "root", 4));
	MUTATE("gname", memcpy(h + 297, "root", 4));
	MUTATE("linkname", memcpy(h + 157, "/etc", 4));
	MUTATE("devmajor", octal(h + 329, 8, 1));
	MUTATE("absolute", memcpy(h, "/etc/x\0\0\0\0\0\0", 12));
	MUTATE("dotdot", memcpy(h, "../codeward/", 12));
	MUTATE("dot", memcpy(h, "./", 2));
	MUTATE("empty component", memcpy(h, ".codeward//", 11));
	MUTATE("file named like a dir", h[156] = '0');
	MUTATE("gnu magic", memcpy(h + 257, "ustar  \0", 8));
	MUTATE("no magic", memset(h + 257, 0, 8));
	MUTATE("garbage after name", h[99] = 'x');
	MUTATE("garbage after prefix", h[499] = 'x');
	MUTATE("padding after prefix", h[505] = 'x');
	MUTATE("base-256 size", (h[124] = 0x80, memset(h + 125, 0, 11)));
	MUTATE("letters in mode", memcpy(h + 100, "00007a9", 7));
	MUTATE("empty mode", memset(h + 100, 0, 8));
	MUTATE("control char in name", h[1] = '\n');
	MUTATE("invalid utf-8 in name", h[1] = (unsigned char)'\xff');
	/* a bad checksum: no recomputation */
	memcpy(g, t, len);
	g[3] ^= 1;
	CHECK(check_tar(SP_TAR_PUT, g, len, 512, 1 << 20, &s, why) != 0 && s.len == 0);
	/* the file's own header, deeper in */
	memcpy(g, t, len);
	h = g + 1536;		/* after .codeward/ and .codeward/code: sub/ */
	h[156] = '2';
	sum(h);
	CHECK(check_tar(SP_TAR_PUT, g, len, 512, 1 << 20, &s, why) != 0);
	CHECK(s.len == 1536);	/* what came before went out, this header not */
	/* after the end: nothing, not even zeros */
	memcpy(g, t, len);
	memset(g + len, 0, 512);
	CHECK(check_tar(SP_TAR_PUT, g, len + 512, 512, 1 << 20, &s, why) != 0);
	/* non-zero padding */
	memcpy(g, t, len);
	g[1024 + 512 + 9] = 1;
	CHECK(check_tar(SP_TAR_PUT, g, len, 512, 1 << 20, &s, why) != 0);
	/* a directory with data */
	memcpy(g, t, len);
	octal(g + 124, 12, 1);
	sum(g);
	CHECK(check_tar(SP_TAR_PUT, g, len, 512, 1 << 20, &s, why) != 0);
	/* the entry cap */
	{
		static struct sp_tar st;
		static unsigned char many[70 * 512 + 1024];
		size_t k;

		for (k = 0; k < 70; k++) {
			char n[16];

			snprintf(n, sizeof(n), "d%zu/", k);
			hdr(many + 512 * k, n, '5', 0755, 0);
		}
		memset(many + 70 * 512, 0, 1024);
		sp_tar_init(&st, SP_TAR_PUT, 10001, 1 << 20, 64);
		s.p = emitted;
		s.len = 0;
		s.cap = sizeof(emitted);
		CHECK(sp_tar_feed(&st, many, sizeof(many), out, &s) != 0 &&
		    strstr(st.why, "too many") != NULL);
	}

	/* download: the daemon's tar of the volume, top entry data/ */
	memset(g, 0, sizeof(g));
	hdr(g, "data/", '5', 040700, 0);
	hdr(g + 512, "data/out.txt", '0', 0100644, 3);
	memcpy(g + 1024, "hi\n", 3);
	hdr(g + 1536, "data/link", '2', 0120777, 0);
	memcpy(g + 1536 + 157, "/etc/shadow", 11);
	sum(g + 1536);
	hdr(g + 2048, "data/fifo", '6', 010644, 0);
	hdr(g + 2560, "data/hard", '1', 0100644, 0);
	memcpy(g + 2560 + 157, "data/out.txt", 12);
	sum(g + 2560);
	/* a PAX path for a long name */
	hdr(g + 3072, "data/PaxHeaders.0/long", 'x', 0,
	    pax_rec(g + 3584, "path", "data/a-name-longer-than-the-field.txt"));
	hdr(g + 4096, "data/a-name-longer", '0', 0100600, 0);
	len = 4608 + 1024;
	CHECK(check_tar(SP_TAR_GET, g, len, 1, 1 << 20, &s, why) == 0);
	CHECK(s.len == len - 3 * 512);	/* link, fifo and hard link left out */
	CHECK(memcmp(s.p, g, 1536) == 0);
	CHECK(memcmp(s.p + 1536, g + 3072, 1536) == 0);
	CHECK(check_tar(SP_TAR_GET, g, len, 700, 1 << 20, &s, why) == 0);
	CHECK(check_tar(SP_TAR_PUT, g, len, 512, 1 << 20, &s, why) != 0);
	/* download refusals */
#define GMUTATE(what, off, stmt) do {					\
		static unsigned char gg[1 << 16];			\
		memcpy(gg, g, len);					\
		h = gg + (off);						\
		stmt;							\
		sum(h);							\
		CHECK_CASE(check_tar(SP_TAR_GET, gg, len, 512, 1 << 20, \
		    &s, why) != 0, what);				\
	} while (0)
	GMUTATE("char device", 1536, h[156] = '3');
	GMUTATE("link with data", 1536, octal(h + 124, 12, 1));
	GMUTATE("first entry not data/", 0, memcpy(h, "etc/\0", 5));
	GMUTATE("name outside data/", 512, memcpy(h, "etc/passwd\0\0", 12));
	GMUTATE("dotdot under data/", 512, memcpy(h, "data/../x\0\0\0", 12));
	GMUTATE("type bits disagree", 512, octal(h + 100, 8, 040644));
	GMUTATE("linkname on file", 512, memcpy(h + 157, "x", 1));
	{
		static unsigned char gg[1 << 16];

		memcpy(gg, g, len);
		memset(gg + 3584, 0, 512);
		hdr(gg + 3072, "data/PaxHeaders.0/long", 'x', 0, pax_rec(gg + 3584,
		    "SCHILY.xattr.security.capability", "0123456789abcdef"));
		CHECK(check_tar(SP_TAR_GET, gg, len, 512, 1 << 20, &s, why) != 0 &&
		    strstr(why, "PAX record") != NULL);
		/* a PAX block, then the end: refused */
		memcpy(gg, g, len);
		memset(gg + 4096, 0, 512);
		CHECK(check_tar(SP_TAR_GET, gg, len, 512, 1 << 20, &s, why) != 0);
		/* linkpath before a kept file */
		memcpy(gg, g, len);
		memset(gg + 3584, 0, 512);
		hdr(gg + 3072, "data/PaxHeaders.0/long", 'x', 0,
		    pax_rec(gg + 3584, "linkpath", "/x"));
		CHECK(check_tar(SP_TAR_GET, gg, len, 512, 1 << 20, &s, why) != 0);
	}
	CHECK(check_tar(SP_TAR_GET, g, len, 512, 2, &s, why) != 0);	/* data cap */
	/*
	 * A name the program made of bytes that are not UTF-8 text (or a
	 * control character): left out with its data, never refused
	 */
	{
		static unsigned char gg[1 << 16];

		memcpy(gg, g, len);
		memcpy(gg + 512, "data/\xbe\xfe\xd0\0\0\0\0", 12);
		sum(gg + 512);
		CHECK(check_tar(SP_TAR_GET, gg, len, 700, 1 << 20, &s, why) == 0);
		CHECK(s.len == len - 5 * 512);	/* it, its data, link, fifo, hard */
		CHECK(memcmp(s.p + 512, gg + 3072, 1536) == 0);
		memcpy(gg + 512, "data/a\nb\0", 9);
		sum(gg + 512);
		CHECK(check_tar(SP_TAR_GET, gg, len, 700, 1 << 20, &s, why) == 0);
		CHECK(s.len == len - 5 * 512);
	}
	/*
	 * A path over USTAR_OUT_PATH_MAX: well-formed, more than frontd keeps.
	 * Left out with its PAX block and data, never refused; the archive
	 * around it passes (README rule 9).
	 */
	{
		static unsigned char gg[1 << 16];
		char longpath[USTAR_OUT_PATH_MAX + 40];

		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[sizeof(longpath) - 1] = '\0';
		memcpy(longpath, "data/", 5);
		for (size_t k = 60; k < sizeof(longpath) - 1; k += 60)
			longpath[k] = '/';
		memcpy(gg, g, len);
		memset(gg + 3584, 0, 512);
		hdr(gg + 3072, "data/PaxHeaders.0/long", 'x', 0,
		    pax_rec(gg + 3584, "path", longpath));
		hdr(gg + 4096, "data/aaaa", '0', 0100600, 0);
		CHECK(check_tar(SP_TAR_GET, gg, len, 700, 1 << 20, &s, why) == 0);
		CHECK(s.len == len - 6 * 512);	/* and link, fifo, hard link */
		CHECK(memcmp(s.p + 1536, gg + 4608, 1024) == 0);
		/* a path of exactly the limit is kept */
		longpath[USTAR_OUT_PATH_MAX] = '\0';
		memset(gg + 3584, 0, 512);
		hdr(gg + 3072, "data/PaxHeaders.0/long", 'x', 0,
		    pax_rec(gg + 3584, "path", longpath));
		CHECK(check_tar(SP_TAR_GET, gg, len, 700, 1 << 20, &s, why) == 0);
		CHECK(s.len == len - 3 * 512);
	}
	return check_done("unit_tar");
}
