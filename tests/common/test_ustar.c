/* common/ustar: the header parser, the writer, pax records, name checks. */
#include <stdio.h>
#include <string.h>

#include "ustar.h"


#include "../lib/check.h"

static void
entry(struct ustar_hdr *h, const char *path, unsigned char type, uint64_t size)
{
	memset(h, 0, sizeof(*h));
	h->pathlen = strlen(path);
	memcpy(h->path, path, h->pathlen);
	h->type = type;
	h->mode = type == USTAR_DIR ? 0755 : 0644;
	h->uid = h->gid = 10001;
	h->size = size;
	h->mtime = 1700000000;
}

/* rewrite the checksum after a test changed a field */
static void
resum(unsigned char *b)
{
	snprintf((char *)b + USTAR_CKSUM, 7, "%06o", ustar_checksum(b));
	b[USTAR_CKSUM + 6] = '\0';
	b[USTAR_CKSUM + 7] = ' ';
}

static void
test_write(void)
{
	unsigned char b[USTAR_BLOCK];
	struct ustar_hdr h, p;
	char longp[300];

	/* the exact bytes privd has always written */
	entry(&h, "sub/in.csv", USTAR_FILE, 9);
	CHECK(ustar_write(b, &h) == 0);
	CHECK(memcmp(b, "sub/in.csv\0", 11) == 0);
	CHECK(memcmp(b + USTAR_MODE, "0000644\0", 8) == 0);
	CHECK(memcmp(b + USTAR_UID, "0023421\0", 8) == 0);
	CHECK(memcmp(b + USTAR_GID, "0023421\0", 8) == 0);
	CHECK(memcmp(b + USTAR_SIZE, "00000000011\0", 12) == 0);
	CHECK(memcmp(b + USTAR_MTIME, "14524770400\0", 12) == 0);
	CHECK(b[USTAR_TYPE] == '0');
	CHECK(memcmp(b + USTAR_MAGIC, "ustar\0" "00", 8) == 0);
	CHECK(b[USTAR_CKSUM + 6] == '\0' && b[USTAR_CKSUM + 7] == ' ');
	CHECK(ustar_is_zero(b + USTAR_LINK, USTAR_LINK_LEN));
	CHECK(ustar_is_zero(b + USTAR_UNAME, USTAR_PREFIX - USTAR_UNAME + USTAR_PREFIX_LEN + USTAR_TAIL_LEN));
	CHECK(ustar_parse(b, &p) == 0);
	CHECK(p.pathlen == 10 && strcmp(p.path, "sub/in.csv") == 0);
	CHECK(p.mode == 0644 && p.uid == 10001 && p.gid == 10001 &&
	    p.size == 9 && p.mtime == 1700000000 && p.type == USTAR_FILE);

	/* a long path splits at the last '/' that fits */
	memset(longp, 'a', 150);
	longp[150] = '/';
	memset(longp + 151, 'b', 90);
	longp[241] = '\0';
	entry(&h, longp, USTAR_FILE, 0);
	CHECK(ustar_write(b, &h) == 0);
	CHECK(b[0] == 'b' && b[89] == 'b' && b[90] == '\0');
	CHECK(b[USTAR_PREFIX] == 'a' && b[USTAR_PREFIX + 149] == 'a' &&
	    b[USTAR_PREFIX + 150] == '\0');
	CHECK(ustar_parse(b, &p) == 0 && p.pathlen == 241 && strcmp(p.path, longp) == 0);

	/* what does not fit is refused */
	memset(longp, 'a', 120);
	longp[120] = '\0';
	entry(&h, longp, USTAR_FILE, 0);		/* no '/' to split at */
	CHECK(ustar_write(b, &h) != 0);
	memset(longp, 'a', 257);
	longp[100] = '/';
	longp[257] = '\0';
	entry(&h, longp, USTAR_FILE, 0);		/* longer than 256 */
	h.pathlen = 257;
	CHECK(ustar_write(b, &h) != 0);
	entry(&h, "", USTAR_FILE, 0);
	CHECK(ustar_write(b, &h) != 0);
	entry(&h, "f", USTAR_FILE, 1ULL << 33);		/* 11 octal digits */
	CHECK(ustar_write(b, &h) != 0);
	entry(&h, "f", USTAR_FILE, (1ULL << 33) - 1);
	CHECK(ustar_write(b, &h) == 0 && ustar_parse(b, &p) == 0 &&
	    p.size == (1ULL << 33) - 1);
	entry(&h, "f", USTAR_FILE, 0);
	h.uid = 1u << 21;				/* 7 octal digits */
	CHECK(ustar_write(b, &h) != 0);
	entry(&h, "f", USTAR_SYMLINK, 0);
	h.linklen = 1;
	CHECK(ustar_write(b, &h) != 0);
	entry(&h, "f", USTAR_FILE, 0);
	h.devminor = 1;
	CHECK(ustar_write(b, &h) != 0);
}

static void
test_parse(void)
{
	unsigned char b[USTAR_BLOCK], c[USTAR_BLOCK];
	struct ustar_hdr h;

	entry(&h, "data/x", USTAR_FILE, 5);
	CHECK(ustar_write(b, &h) == 0);

	memcpy(c, b, sizeof(c));
	c[0] ^= 1;					/* checksum no longer matches */
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_CKSUM);
	memcpy(c, b, sizeof(c));
	memset(c + USTAR_CKSUM, 0, 8);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_CKSUM);

	memcpy(c, b, sizeof(c));
	memcpy(c + USTAR_MAGIC, "ustar  \0", 8);	/* GNU */
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_VERSION);
	memcpy(c + USTAR_MAGIC, "USTAR\0" "00", 8);
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_MAGIC);

	/* numbers: leading spaces, trailing NUL or space; no base-256 */
	memcpy(c, b, sizeof(c));
	memcpy(c + USTAR_SIZE, "   17 \0\0\0\0\0\0", 12);
	resum(c);
	CHECK(ustar_parse(c, &h) == 0 && h.size == 15);
	memcpy(c + USTAR_SIZE, "\x80\0\0\0\0\0\0\0\0\0\0\x05", 12);
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_SIZE && h.size == 0);
	memcpy(c + USTAR_SIZE, "0000000001x\0", 12);
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_SIZE);
	memcpy(c + USTAR_SIZE, "012 34\0\0\0\0\0\0", 12);
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_SIZE);
	memcpy(c + USTAR_SIZE, "777777777777", 12);	/* every byte a digit */
	resum(c);
	CHECK(ustar_parse(c, &h) == 0 && h.size == (1ULL << 36) - 1);
	memcpy(c, b, sizeof(c));
	memset(c + USTAR_MODE, 0, USTAR_MODE_LEN);	/* empty: not a number */
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_MODE);
	memcpy(c, b, sizeof(c));
	memcpy(c + USTAR_UID, "8\0\0\0\0\0\0\0", 8);
	memcpy(c + USTAR_GID, " \0\0\0\0\0\0\0", 8);
	memcpy(c + USTAR_MTIME, "x", 1);
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 &&
	    h.bad == (USTAR_BAD_UID | USTAR_BAD_GID | USTAR_BAD_MTIME));

	/* device numbers: empty reads 0, a zero or a number, else bad */
	memcpy(c, b, sizeof(c));
	memcpy(c + USTAR_DEVMAJOR, "0000000\0", 8);
	memcpy(c + USTAR_DEVMINOR, "0000003\0", 8);
	resum(c);
	CHECK(ustar_parse(c, &h) == 0 && h.devmajor == 0 && h.devminor == 3);
	memcpy(c + USTAR_DEVMINOR, "\0\0\0\0\0\0\0z", 8);
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_DEV);

	/* strings: up to the NUL; anything after it is flagged */
	memcpy(c, b, sizeof(c));
	c[10] = 'q';					/* "data/x\0\0\0\0q" */
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_NAMEPAD &&
	    strcmp(h.path, "data/x") == 0);
	memcpy(c, b, sizeof(c));
	c[USTAR_PREFIX + 3] = 'q';
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_NAMEPAD &&
	    strcmp(h.path, "data/x") == 0);
	memcpy(c, b, sizeof(c));
	memcpy(c + USTAR_PREFIX, "pre", 3);
	resum(c);
	CHECK(ustar_parse(c, &h) == 0 && strcmp(h.path, "pre/data/x") == 0 &&
	    h.pathlen == 10);
	memcpy(c, b, sizeof(c));
	memcpy(c + USTAR_LINK, "t\0u", 3);
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_LINKPAD &&
	    h.linklen == 1 && strcmp(h.linkname, "t") == 0);
	memcpy(c, b, sizeof(c));
	memcpy(c + USTAR_UNAME, "root", 4);
	memset(c + USTAR_GNAME, 'g', USTAR_GNAME_LEN);	/* full, no NUL */
	resum(c);
	CHECK(ustar_parse(c, &h) == 0 && strcmp(h.uname, "root") == 0 &&
	    strlen(h.gname) == USTAR_GNAME_LEN);
	c[USTAR_UNAME + 6] = 'x';
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_OWNERPAD);
	memcpy(c, b, sizeof(c));
	c[USTAR_TAIL + 11] = 1;
	resum(c);
	CHECK(ustar_parse(c, &h) != 0 && h.bad == USTAR_BAD_TAIL);

	/* the longest path: 155 + 1 + 100 */
	memcpy(c, b, sizeof(c));
	memset(c, 'n', USTAR_NAME_LEN);
	memset(c + USTAR_PREFIX, 'p', USTAR_PREFIX_LEN);
	resum(c);
	CHECK(ustar_parse(c, &h) == 0 && h.pathlen == USTAR_PATH_MAX &&
	    strlen(h.path) == USTAR_PATH_MAX && h.path[155] == '/');

	memset(c, 0, sizeof(c));
	CHECK(ustar_is_zero(c, sizeof(c)) && !ustar_is_zero(b, sizeof(b)));
	CHECK(ustar_padded(0) == 0 && ustar_padded(1) == 512 &&
	    ustar_padded(512) == 512 && ustar_padded(513) == 1024);
}

static int
pax_all(const char *s, size_t n, struct ustar_pax_rec *last, int *count)
{
	size_t off = 0;
	int k;

	*count = 0;
	while ((k = ustar_pax_next((const unsigned char *)s, n, &off, last)) > 0)
		(*count)++;
	return k;
}

static void
test_pax(void)
{
	static const char two[] = "12 path=a/b\n" "14 mtime=1.25\n";
	struct ustar_pax_rec r;
	uint64_t v;
	int n;

	CHECK(pax_all(two, sizeof(two) - 1, &r, &n) == 0 && n == 2);
	CHECK(ustar_pax_is(&r, "mtime") && !ustar_pax_is(&r, "mtim") &&
	    r.vlen == 4 && memcmp(r.val, "1.25", 4) == 0 && r.digits == 2);
	CHECK(pax_all("", 0, &r, &n) == 0 && n == 0);
	CHECK(pax_all("6 k=v\n", 6, &r, &n) == 0 && n == 1 && r.klen == 1);
	CHECK(pax_all("5 =v\n", 5, &r, &n) == 0 && n == 1 && r.klen == 0 &&
	    r.vlen == 1);				/* an empty key parses */
	CHECK(pax_all("5 k=\n", 5, &r, &n) == 0 && r.vlen == 0);
	/* the length may carry leading zeros; a reader may refuse them */
	CHECK(pax_all("0000012 k=v\n", 12, &r, &n) == 0 &&
	    r.digits == 7);

	CHECK(pax_all("6 k=v\n", 5, &r, &n) < 0);	/* longer than the data */
	CHECK(pax_all("4 k\n", 4, &r, &n) < 0);		/* shorter than 5 */
	CHECK(pax_all("6 kv\n\n", 6, &r, &n) < 0);	/* no '=' */
	CHECK(pax_all("6 k=vv", 6, &r, &n) < 0);	/* no '\n' */
	CHECK(pax_all("6_k=v\n", 6, &r, &n) < 0);	/* no space */
	CHECK(pax_all(" 6 k=v\n", 7, &r, &n) < 0);	/* no length */
	CHECK(pax_all("99999999999999999999999 k=v\n", 28, &r, &n) < 0);
	CHECK(pax_all("6 k=v\n7 k=v\n", 12, &r, &n) < 0 && n == 1);

	CHECK(ustar_pax_uint("0", 1, &v) == 0 && v == 0);
	CHECK(ustar_pax_uint("9999999999999999999", 19, &v) == 0 &&
	    v == 9999999999999999999ULL);
	CHECK(ustar_pax_uint("10000000000000000000", 20, &v) != 0);
	CHECK(ustar_pax_uint("", 0, &v) != 0);
	CHECK(ustar_pax_uint("1a", 2, &v) != 0);
	CHECK(ustar_pax_uint("-1", 2, &v) != 0);
}

static void
test_names(void)
{
	CHECK(ustar_name_text_ok("r\xc3\xa9sum\xc3\xa9/x.pdf", 14));
	CHECK(ustar_name_text_ok("", 0));
	CHECK(!ustar_name_text_ok("a\tb", 3));
	CHECK(!ustar_name_text_ok("a\x7f", 2));
	CHECK(!ustar_name_text_ok("a\0b", 3));
	CHECK(!ustar_name_text_ok("\xc3\x28", 2));
	CHECK(!ustar_name_text_ok("\xc0\xaf", 2));	/* overlong '/' */
	CHECK(ustar_dots(".", 1) == 1 && ustar_dots("..", 2) == 2);
	CHECK(ustar_dots("...", 3) == 0 && ustar_dots(".a", 2) == 0 &&
	    ustar_dots("", 0) == 0 && ustar_dots("a", 1) == 0);
}

/*
 * The output archive's shared limits (sockproxy's checker and frontd's
 * walker): a component frontd keeps is one privd's writer can place again
 * as an input, one byte more is not; a path frontd keeps fits the writer.
 */
static void
test_out_limits(void)
{
	unsigned char b[USTAR_BLOCK];
	struct ustar_hdr h;
	char p[USTAR_OUT_PATH_MAX + 1];

	CHECK(USTAR_OUT_COMPONENT_MAX == USTAR_NAME_LEN);
	CHECK(USTAR_OUT_PATH_MAX < USTAR_PATH_MAX);
	memset(p, 'c', USTAR_OUT_COMPONENT_MAX);
	memcpy(p + USTAR_OUT_COMPONENT_MAX, "\0", 1);
	entry(&h, p, USTAR_FILE, 0);
	CHECK(ustar_write(b, &h) == 0);
	memcpy(p, "d/", 2);
	memset(p + 2, 'c', USTAR_OUT_COMPONENT_MAX + 1);
	p[USTAR_OUT_COMPONENT_MAX + 3] = '\0';
	entry(&h, p, USTAR_FILE, 0);
	CHECK(ustar_write(b, &h) != 0);
	/* 150 + '/' + 100: within the path limit, written whole */
	memset(p, 'a', 150);
	p[150] = '/';
	memset(p + 151, 'b', USTAR_OUT_COMPONENT_MAX);
	p[251] = '\0';
	entry(&h, p, USTAR_FILE, 0);
	CHECK(ustar_write(b, &h) == 0);
	CHECK(ustar_out_headers_max(0) == 2 && ustar_out_headers_max(1U << 20) ==
	    (2ULL << 20) + 2);
}

int
main(void)
{
	test_write();
	test_out_limits();
	test_parse();
	test_pax();
	test_names();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return check_done("test_ustar");
}
