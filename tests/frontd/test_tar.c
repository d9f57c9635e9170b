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
	memcpy(s->data[s->n], e->data, e->size < 63 ? e->size : 63);
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
	CHECK(tar_walk(buf, len, "data", &lim, record, &s, err, sizeof(err)) == 0);
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
		CHECK(tar_walk(buf, len, "data", &lim, record, &s, err, sizeof(err)) == 0);
		CHECK(s.n == 3 && strcmp(s.names[2], longname + 5) == 0);
	}
	/* entry cap */
	lim.entries_max = 1;
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, len, "data", &lim, record, &s, err, sizeof(err)) != 0);
	/* truncated archive */
	lim.entries_max = 100;
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, 700, "data", &lim, record, &s, err, sizeof(err)) != 0);
	/* a corrupted checksum */
	buf[10] ^= 1;
	CHECK(tar_walk(buf, len, "data", &lim, record, &s, err, sizeof(err)) != 0);
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
	struct seen s;
	char err[128];

	/* dot-dot */
	memset(buf, 0, sizeof(buf));
	raw_header(buf, "data/../etc/passwd", '0', 0);
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, err, sizeof(err)) != 0);
	/* outside the work directory */
	raw_header(buf, "other/x", '0', 0);
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, err, sizeof(err)) != 0);
	/* symlink, FIFO, device: skipped, never reported */
	memset(buf, 0, sizeof(buf));
	raw_header(buf, "data/link", '2', 0);
	raw_header(buf + 512, "data/fifo", '6', 0);
	raw_header(buf + 1024, "data/dev", '3', 0);
	memset(&s, 0, sizeof(s));
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, err, sizeof(err)) == 0);
	CHECK(s.n == 0);
	/* size past the end */
	memset(buf, 0, sizeof(buf));
	raw_header(buf, "data/big", '0', 100000);
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, err, sizeof(err)) != 0);
	/* file above the cap */
	lim.file_max = 10;
	memset(buf, 0, sizeof(buf));
	raw_header(buf, "data/f", '0', 11);
	CHECK(tar_walk(buf, sizeof(buf), "data", &lim, record, &s, err, sizeof(err)) != 0);
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
	CHECK(tar_walk(buf, 512 + 20, "data", &lim, record, &s, err, sizeof(err)) != 0);
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
}

int
main(void)
{
	test_round_trip();
	test_hostile();
	test_pax_cut();
	test_clean();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("tar: all checks passed\n");
	return check_done("test_tar");
}
