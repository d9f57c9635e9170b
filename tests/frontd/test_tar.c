/*
 * The tar reader (frontd) against the tar writer (privd): a round trip, then
 * hostile archives the reader must refuse or skip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tar.h"
#include "tarw.h"
#include "util.h"


#include "../lib/check.h"

struct seen {
	char	names[16][256];
	int	types[16];
	size_t	sizes[16];
	char	data[16][64];
	size_t	n;
};

static int
record(const struct tar_entry *e, void *ctx)
{
	struct seen *s = ctx;

	if (s->n == 16)
		return -1;
	strcpy(s->names[s->n], e->name);
	s->types[s->n] = e->type;
	s->sizes[s->n] = e->size;
	if (e->data != NULL)
		memcpy(s->data[s->n], e->data, e->size < 63 ? e->size : 63);
	else
		CHECK(e->oversize && e->size == 0);
	s->n++;
	return 0;
}

static int
memfd_with(const char *s)
{
	int fd = cw_memfd("t");

	if (fd < 0 || cw_write_all(fd, s, strlen(s)) != 0)
		abort();
	return fd;
}

static unsigned char *
build(struct tarw *t, size_t *len)
{
	uint64_t sz = tarw_size(t);
	unsigned char *buf = malloc(sz + 100);
	size_t got = 0, n;

	/* odd chunk sizes exercise the streaming state machine */
	while ((n = tarw_fill((char *)buf + got, 37, t)) > 0)
		got += n;
	CHECK(!t->failed);
	CHECK(got == sz);
	*len = got;
	return buf;
}

/* wrap the writer's archive under "data/" the way the daemon's GET does */
static void
test_round_trip(void)
{
	struct tarw *t = malloc(sizeof(*t));
	struct tar_limits lim = { 100, 1 << 20 };
	struct seen s;
	char err[128];
	unsigned char *buf;
	size_t len;
	int a = memfd_with("hello"), b = memfd_with("x,y\n1,2\n"), c = memfd_with("late");

	tarw_init(t, 10001, 1700000000);
	CHECK(tarw_add_file(t, "data/out.txt", a, 5) == 0);
	CHECK(tarw_add_file(t, "data/sub/dir/t.csv", b, 8) == 0);
	CHECK(tarw_add_file(t, "data/out.txt", c, 4) == 0);	/* later wins */
	CHECK(tarw_add_file(t, "data/out.txt/x", a, 5) != 0);	/* file as dir */
	buf = build(t, &len);
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, len, "data", &lim, record, &s, NULL, err, sizeof(err)) == 0);
	/* data/ itself is not reported; sub and sub/dir are */
	CHECK(s.n == 4);
	CHECK(strcmp(s.names[0], "out.txt") == 0 && s.types[0] == TAR_FILE &&
	    s.sizes[0] == 4 && memcmp(s.data[0], "late", 4) == 0);
	CHECK(strcmp(s.names[1], "sub") == 0 && s.types[1] == TAR_DIR);
	CHECK(strcmp(s.names[2], "sub/dir") == 0 && s.types[2] == TAR_DIR);
	CHECK(strcmp(s.names[3], "sub/dir/t.csv") == 0 && s.sizes[3] == 8);

	/* a long name goes to the ustar prefix and comes back whole */
	{
		char longname[230];

		memset(longname, 'n', sizeof(longname));
		memcpy(longname, "data/", 5);
		longname[100] = '/';
		longname[150] = '/';
		longname[sizeof(longname) - 1] = '\0';
		tarw_init(t, 10001, 0);
		CHECK(tarw_add_file(t, longname, a, 5) == 0);
		free(buf);
		buf = build(t, &len);
		memset(&s, 0, sizeof(s));
		CHECK(tar_walk(buf, len, "data", &lim, record, &s, NULL, err, sizeof(err)) == 0);
		CHECK(s.n == 3 && strcmp(s.names[2], longname + 5) == 0);
	}
	/* entry cap */
	lim.entries_max = 1;
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, len, "data", &lim, record, &s, NULL, err, sizeof(err)) != 0);
	/* truncated archive */
	lim.entries_max = 100;
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, 700, "data", &lim, record, &s, NULL, err, sizeof(err)) != 0);
	/* a corrupted checksum */
	buf[10] ^= 1;
	CHECK(tar_walk(buf, len, "data", &lim, record, &s, NULL, err, sizeof(err)) != 0);
	free(buf);
	free(t);
	close(a);
	close(b);
	close(c);
}

/* one raw ustar header with a given name and type */
static void
raw_header(unsigned char *h, const char *name, char type, unsigned size)
{
	unsigned sum = 0;
	int i;

	memset(h, 0, 512);
	strncpy((char *)h, name, 100);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 124, 12, "%011o", size);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static void
test_hostile(void)
{
	static unsigned char buf[512 * 8];
	struct tar_limits lim = { 100, 1 << 20 };
	struct tar_stats st;
	struct seen s;
	char err[128];

	/* dot-dot: skipped and counted, the next entry still reported */
	memset(buf, 0, sizeof(buf));
	raw_header(buf, "data/../etc/passwd", '0', 0);
	raw_header(buf + 512, "data/after", '0', 0);
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, &st, err, sizeof(err)) == 0);
	CHECK(s.n == 1 && strcmp(s.names[0], "after") == 0);
	CHECK(st.skipped[TAR_SKIP_UNSAFE] == 1);
	/* outside the work directory: the same */
	raw_header(buf, "other/x", '0', 0);
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, &st, err, sizeof(err)) == 0);
	CHECK(s.n == 1 && st.skipped[TAR_SKIP_UNSAFE] == 1);
	/* symlink, FIFO, device: skipped, never reported */
	memset(buf, 0, sizeof(buf));
	raw_header(buf, "data/link", '2', 0);
	raw_header(buf + 512, "data/fifo", '6', 0);
	raw_header(buf + 1024, "data/dev", '3', 0);
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, &st, err, sizeof(err)) == 0);
	CHECK(s.n == 0 && st.skipped[TAR_SKIP_TYPE] == 3);
	/* size past the end */
	memset(buf, 0, sizeof(buf));
	raw_header(buf, "data/big", '0', 100000);
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, NULL, err, sizeof(err)) != 0);
	/* file above the cap: reported without data (it exists), counted */
	lim.file_max = 10;
	memset(buf, 0, sizeof(buf));
	raw_header(buf, "data/f", '0', 11);
	raw_header(buf + 1024, "data/g", '0', 10);
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, &st, err, sizeof(err)) == 0);
	CHECK(s.n == 2 && strcmp(s.names[0], "f") == 0 && s.sizes[0] == 0);
	CHECK(strcmp(s.names[1], "g") == 0 && s.sizes[1] == 10);
	CHECK(st.skipped[TAR_SKIP_SIZE] == 1);
	/* no end-of-archive block: not a complete walk */
	memset(buf, 0, sizeof(buf));
	raw_header(buf, "data/f", '0', 0);
	CHECK(tar_walk(buf, 512, "data", &lim, record, &s, &st, err, sizeof(err)) != 0);
}

/* a PAX header block for one path record */
static size_t
pax_path(unsigned char *p, const char *path)
{
	char rec[1100];
	size_t n = strlen(path) + 7, len;

	/* "<len> path=<path>\n", len counting its own digits */
	len = n + (n + 1 >= 1000 ? 4 : n + 1 >= 100 ? 3 : 2);
	if ((size_t)snprintf(rec, sizeof(rec), "%zu path=%s\n", len, path) != len)
		abort();
	raw_header(p, "PaxHeader", 'x', (unsigned)len);
	memcpy(p + 512, rec, len);
	return 512 + (len + 511) / 512 * 512;
}

/*
 * Names frontd cannot keep (a component over 100 bytes, a path over 255)
 * are skipped and counted; the walk goes on to the entries after them.
 */
static void
test_long_names(struct tar_limits lim, struct tar_stats st, struct seen s)
{
	static unsigned char buf[512 * 16];
	char err[128], name[700];
	size_t off = 0;

	memset(buf, 0, sizeof(buf));
	/* a 150-byte component, as Go's archive/tar writes it */
	memset(name, 'a', sizeof(name));
	memcpy(name, "data/", 5);
	name[155] = '\0';
	off += pax_path(buf + off, name);
	raw_header(buf + off, "data/aaaa", '0', 0);
	off += 512;
	/* a path of 600 bytes in components of 50: too long a path */
	memset(name + 5, 'b', sizeof(name) - 5);
	for (size_t i = 55; i < 600; i += 51)
		name[i] = '/';
	name[600] = '\0';
	off += pax_path(buf + off, name);
	raw_header(buf + off, "data/bbbb", '0', 0);
	off += 512;
	/* a component of exactly 100 bytes: kept */
	memset(name + 5, 'c', 100);
	name[105] = '\0';
	off += pax_path(buf + off, name);
	raw_header(buf + off, "data/cccc", '0', 0);
	off += 512;
	raw_header(buf + off, "data/out.txt", '0', 0);
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, &st, err, sizeof(err)) == 0);
	CHECK(s.n == 2 && strlen(s.names[0]) == 100 && strcmp(s.names[1], "out.txt") == 0);
	CHECK(st.skipped[TAR_SKIP_NAME] == 2);
	/* the entry cap is the one limit that ends the walk */
	lim.entries_max = 5;
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, &st, err, sizeof(err)) != 0);
	CHECK(ustar_out_headers_max(16384) == 32770);
}

/* a PAX block whose records fit but whose padding is cut off */
static void
test_pax_cut(void)
{
	static const char rec[] = "20 path=data/abcdef\n";
	struct tar_limits lim = { 100, 1 << 20 };
	unsigned char *buf = malloc(512 + 20);
	struct seen s;
	char err[128];

	if (buf == NULL)
		abort();
	raw_header(buf, "PaxHeader", 'x', 20);
	memcpy(buf + 512, rec, 20);
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, 512 + 20, "data", &lim, record, &s, NULL, err, sizeof(err)) != 0);
	CHECK(s.n == 0);
	free(buf);
}

static void
test_clean(void)
{
	char out[256];

	CHECK(tar_clean_name("a/./b//c", 8, out, sizeof(out)) == 0 && strcmp(out, "a/b/c") == 0);
	CHECK(tar_clean_name("/abs/x", 6, out, sizeof(out)) == 0 && strcmp(out, "abs/x") == 0);
	CHECK(tar_clean_name("a/../b", 6, out, sizeof(out)) != 0);
	CHECK(tar_clean_name("", 0, out, sizeof(out)) != 0);
	CHECK(tar_clean_name("a\tb", 3, out, sizeof(out)) != 0);
	CHECK(tar_clean_name("\xc3\x28", 2, out, sizeof(out)) != 0);
	CHECK(tar_clean_name("r\xc3\xa9sum\xc3\xa9.pdf", 11, out, sizeof(out)) == 0);
	/* too long a component or path: -2; ".." after it still -1 */
	memset(out, 'x', 101);
	CHECK(tar_clean_name(out, 101, out + 110, 100) == -2);
	CHECK(tar_clean_name(out, 100, out + 110, 101) == 0);
	CHECK(tar_clean_name("ab/cd", 5, out, 5) == -2);
	memcpy(out + 101, "/..", 3);
	CHECK(tar_clean_name(out, 104, out + 110, 100) == -1);
}

int
main(void)
{
	test_round_trip();
	test_hostile();
	test_pax_cut();
	{
		struct tar_limits lim = { 100, 1 << 20 };
		struct tar_stats st = { { 0 } };
		struct seen s = { { { 0 } }, { 0 }, { 0 }, { { 0 } }, 0 };

		test_long_names(lim, st, s);
	}
	test_clean();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("tar: all checks passed\n");
	return check_done("test_tar");
}
