/*
 * The store's byte tally (frontd/quota.c) and the store over a temporary
 * directory (frontd/store.c): quotas per owner and in all, pending bytes,
 * the free-space floor's arithmetic, the overflow entry past the table;
 * the tally rebuilt at start-up, moved by commits and deletes; a record in
 * place before its object; the sweep sparing young files with or without
 * a record; a dead process's temporary files and orphan records gone at
 * start-up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "current.h"
#include "policy.h"
#include "quota.h"
#include "store.h"

#include "../lib/check.h"

/* the tally's totals: 0 stored, 1 pending, 2 owners */
static uint64_t
tally(int which)
{
	uint64_t t, p;
	unsigned o;

	quota_stats(&t, &p, &o);
	return which == 0 ? t : which == 1 ? p : o;
}
#define quota_total()	tally(0)
#define quota_pending()	tally(1)
#define quota_owners()	tally(2)

static void
test_arithmetic(void)
{
	struct quota_limits l = { 100, 250, 0 }, none = { 0, 0, 0 };

	quota_reset();
	quota_count("alice", 60);
	CHECK(quota_used("alice") == 60 && quota_total() == 60);
	/* the user quota: 40 more fit, 41 do not */
	CHECK(quota_check("alice", 40, &l) == QUOTA_OK);
	CHECK(quota_check("alice", 41, &l) == QUOTA_USER);
	CHECK(quota_check("bob", 100, &l) == QUOTA_OK);
	CHECK(quota_check("bob", 101, &l) == QUOTA_USER);
	/* pending bytes count against the store quota, not an owner's */
	CHECK(quota_pend(150, &l) == QUOTA_OK && quota_pending() == 150);
	CHECK(quota_pend(41, &l) == QUOTA_STORE && quota_pending() == 150);
	CHECK(quota_check("bob", 41, &l) == QUOTA_STORE);
	/* a commit over the owner's quota changes nothing */
	CHECK(quota_commit("alice", 50, &l) == QUOTA_USER);
	CHECK(quota_used("alice") == 60 && quota_pending() == 150);
	CHECK(quota_commit("bob", 100, &l) == QUOTA_OK);
	CHECK(quota_used("bob") == 100 && quota_pending() == 50 && quota_total() == 160);
	quota_unpend(50);
	CHECK(quota_pending() == 0);
	quota_unpend(7);			/* never below zero */
	CHECK(quota_pending() == 0);
	/* a lowered store quota refuses the commit of bytes already pending */
	CHECK(quota_pend(40, &none) == QUOTA_OK);
	l.store = 170;
	CHECK(quota_commit("carol", 40, &l) == QUOTA_STORE);
	quota_unpend(40);
	quota_release("bob", 100);
	quota_release("bob", 100);		/* clamped */
	CHECK(quota_used("bob") == 0 && quota_total() == 60);
	/* 0 is no limit */
	CHECK(quota_check("alice", UINT64_MAX / 2, &none) == QUOTA_OK);
	/* the floor: what stays free after the write */
	l.floor = 1000;
	CHECK(quota_floor(1500, 500, &l) == QUOTA_OK);
	CHECK(quota_floor(1500, 501, &l) == QUOTA_FLOOR);
	CHECK(quota_floor(10, 11, &l) == QUOTA_FLOOR);
	CHECK(quota_floor(0, 1, &none) == QUOTA_OK);
	/* the bucket's count restates owners and total; pending bytes stay */
	{
		struct quota_entry v[2] = { { "bob", 30 }, { "dave", 5 } };
		uint64_t e = quota_epoch();

		CHECK(quota_pend(7, &none) == QUOTA_OK);
		CHECK(quota_restate(v, 2, e) == 0);
		CHECK(quota_used("alice") == 0 && quota_used("bob") == 30 &&
		    quota_used("dave") == 5 && quota_total() == 35 && quota_pending() == 7);
		quota_unpend(7);
		/* a commit while it was counted: the count is refused */
		e = quota_epoch();
		CHECK(quota_pend(3, &none) == QUOTA_OK && quota_commit("erin", 3, &none) == QUOTA_OK);
		CHECK(quota_restate(v, 1, e) == -1 && quota_used("erin") == 3 &&
		    quota_total() == 38);
		e = quota_epoch();
		quota_release("erin", 3);
		CHECK(quota_restate(v, 1, e) == -1);
		CHECK(quota_restate(v, 1, quota_epoch()) == 0 && quota_total() == 30);
	}
}

static void
test_overflow(void)
{
	struct quota_limits l = { 10, 0, 0 };
	char name[32];
	unsigned i;

	quota_reset();
	for (i = 0; i < QUOTA_OWNERS_MAX; i++) {
		snprintf(name, sizeof(name), "u%u", i);
		quota_count(name, 1);
	}
	CHECK(quota_owners() == QUOTA_OWNERS_MAX);
	CHECK(quota_used("u17") == 1);
	/* owners past the table share one entry, held to one user's quota */
	CHECK(quota_commit("late1", 0, &l) == QUOTA_OK);
	quota_count("late1", 6);
	CHECK(quota_used("late2") == 6);
	CHECK(quota_check("late2", 4, &l) == QUOTA_OK);
	CHECK(quota_check("late2", 5, &l) == QUOTA_USER);
	quota_release("late1", 6);
	CHECK(quota_used("late2") == 0 && quota_owners() == QUOTA_OWNERS_MAX);
	CHECK(quota_total() == QUOTA_OWNERS_MAX);
}

static struct policy pol;
static char root[64];
static int rootfd = -1;

static void
start(void)
{
	int fd;

	if (rootfd >= 0)
		close(rootfd);
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(root);
		exit(1);
	}
	rootfd = fd;
	store_init(fd);
}

static int
exists(const char *sid, const char *name)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/%s", root, sid, name);
	return stat(p, &st) == 0;
}

static size_t
entries(const char *sid)
{
	char p[256];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(p, sizeof(p), "%s/%s", root, sid);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || strncmp(e->d_name, ".tmp.", 5) == 0)
			n++;
	closedir(d);
	return n;
}

static void
test_store(void)
{
	struct store_meta a, b, m;
	struct store_writer w;
	char sid[CW_ID_LEN + 1], buf[4096], meta[64];
	int fd;

	memset(buf, 'x', sizeof(buf));
	snprintf(root, sizeof(root), "/tmp/cw-test-store.XXXXXX");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	static const char text[] = "[files]\nuser-quota 5K\nstore-quota 9K\n"
	    "free-space-floor 0\n";

	CHECK(policy_parse(text, sizeof(text) - 1, "t", &pol, buf, sizeof(buf)) == 0);
	memset(buf, 'x', sizeof(buf));
	CHECK(pol.user_quota == 5120 && pol.store_quota == 9216 && pol.free_space_floor == 0);
	current_set(&pol);
	start();

	/* outputs: store_put refuses before writing, with EDQUOT */
	cw_id_new(sid);
	CHECK(store_put(sid, "a.bin", -1, 0, buf, 4096, "output", "alice", &a) == 0);
	CHECK(quota_used("alice") == 4096 && quota_total() == 4096);
	errno = 0;
	CHECK(store_put(sid, "b.bin", -1, 0, buf, 2048, "output", "alice", &b) == -1 &&
	    errno == EDQUOT);
	CHECK(entries(sid) == 2);		/* a.bin and its record */
	CHECK(store_put(sid, "b.bin", -1, 0, buf, 4096, "output", "bob", &b) == 0);
	/* the store quota: 8K of 9K stored */
	errno = 0;
	CHECK(store_put(sid, "c.bin", -1, 0, buf, 2048, "output", "carol", &m) == -1 &&
	    errno == ENOSPC);
	/* an upload: the store quota as bytes arrive, the owner's at commit */
	CHECK(store_writer_open(&w, sid) == 0);
	CHECK(store_writer_write(&w, buf, 1024) == 0);
	CHECK(quota_pending() == 1024);
	CHECK(store_writer_write(&w, buf, 1) == -1 && w.why == QUOTA_STORE);
	store_writer_abort(&w);
	CHECK(quota_pending() == 0);
	/* a delete gives the bytes back */
	CHECK(store_delete(sid, b.fid) == 0);
	CHECK(quota_used("bob") == 0 && quota_total() == 4096);
	CHECK(store_writer_open(&w, sid) == 0);
	CHECK(store_writer_write(&w, buf, 1025) == 0);
	CHECK(store_writer_commit(&w, "d.bin", "user", "alice", &m) == -1 &&
	    w.why == QUOTA_USER && errno == EDQUOT);
	CHECK(quota_pending() == 0 && entries(sid) == 2);
	CHECK(quota_used("alice") == 4096 && quota_total() == 4096);
	CHECK(store_put(sid, "c.bin", -1, 0, buf, 2048, "output", "carol", &m) == 0);

	/* start-up: the tally counted again from the records */
	start();
	CHECK(quota_used("alice") == 4096 && quota_used("carol") == 2048);
	CHECK(quota_total() == 6144);

	/* a young object without its record survives a sweep, an old one not */
	snprintf(meta, sizeof(meta), "%s.meta", a.fid);
	snprintf(buf, sizeof(buf), "%s/%s/%s", root, sid, meta);
	CHECK(unlink(buf) == 0);
	store_sweep(pol.lifetime_s);
	start();
	CHECK(exists(sid, a.fid));
	store_sweep(0);
	CHECK(exists(sid, a.fid) && exists(sid, m.fid));	/* young, record or not */
	store_sweep_at(pol.lifetime_s, time(NULL) + STORE_GRACE_S + 5);
	CHECK(!exists(sid, a.fid) && exists(sid, m.fid));

	/* a kill between the two renames: a record alone, gone at start-up */
	snprintf(buf, sizeof(buf), "%s/%s/AAAAAAAAAAAAAAAAAAAAA.meta", root, sid);
	CHECK((fd = open(buf, O_WRONLY | O_CREAT, 0600)) >= 0 && close(fd) == 0);
	store_sweep(pol.lifetime_s);
	CHECK(exists(sid, "AAAAAAAAAAAAAAAAAAAAA.meta"));	/* young: may be committing */
	CHECK(store_meta(sid, "AAAAAAAAAAAAAAAAAAAAA", &b) == -1);	/* unreadable */
	/* an earlier frontd's temporary file goes at the next sweep, ours stays */
	snprintf(buf, sizeof(buf), "%s/%s/.tmp.zzzzzzzz.AAAAAAAAAAAAAAAAAAAAA", root, sid);
	CHECK((fd = open(buf, O_WRONLY | O_CREAT, 0600)) >= 0 && close(fd) == 0);
	CHECK(store_writer_open(&w, sid) == 0);
	store_sweep(pol.lifetime_s);
	CHECK(!exists(sid, ".tmp.zzzzzzzz.AAAAAAAAAAAAAAAAAAAAA"));
	CHECK(store_writer_write(&w, "abc", 3) == 0);
	CHECK(store_writer_commit(&w, "e.txt", "user", "erin", &b) == 0);
	CHECK(store_delete(sid, b.fid) == 0);
	/* a kill mid-upload: the temporary file */
	CHECK(store_writer_open(&w, sid) == 0);
	CHECK(store_writer_write(&w, "abc", 3) == 0);
	close(w.fd);
	close(w.dir);
	start();
	CHECK(!exists(sid, "AAAAAAAAAAAAAAAAAAAAA.meta"));
	CHECK(entries(sid) == 2);		/* c.bin and its record */
	CHECK(quota_pending() == 0 && quota_total() == 2048);
	CHECK((fd = store_get(sid, m.fid, &b)) >= 0 && close(fd) == 0);

	snprintf(buf, sizeof(buf), "rm -rf '%s'", root);
	CHECK(system(buf) == 0);
}

int
main(void)
{
	test_arithmetic();
	test_overflow();
	test_store();
	return check_done("store");
}
