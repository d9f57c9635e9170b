/*
 * The sessions' table (privd/session.c) without Docker: its Docker side is
 * a fake that records each removal. A session's kept sandbox goes back to
 * that session alone, never to another key (frontd's key is a keyed hash
 * of the user and the hint, so another user is another key); a busy one is
 * waited for, then refused; a slot is taken from the least recently used
 * idle session; a sandbox kept under another policy or image is not
 * reused; expiry removes an idle session at session-idle and never a busy
 * one.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "privd.h"
#include "session.h"
#include "util.h"

#include "../lib/check.h"
#include "fake_removals.h"

struct privd privd = {
	.send_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.sockproxy = "/nonexistent/sockproxy.sock",
};

/* --- the fake Docker side: removals recorded ------------------------------ */


static int
fake_create(struct dk *dk, const struct policy *p, int image, int prewarm_py,
    char *id)
{
	(void)dk;
	(void)p;
	(void)image;
	(void)prewarm_py;
	(void)id;
	CHECK_FAIL("session.c created a sandbox");
	return -1;
}

static int
fake_stat(struct dk *dk, const char *id, char *stat, size_t len)
{
	(void)dk;
	(void)id;
	(void)stat;
	(void)len;
	CHECK_FAIL("session.c read a stat");
	return -1;
}

static const struct sandbox_ops fake = { fake_create, fake_stat, fake_remove,
    NULL };

/* a key as frontd makes it: 32 hex digits in a buffer of IPC_SESSION_MAX */
struct key {
	char	s[IPC_SESSION_MAX];
};

static struct key
key(char c)
{
	struct key k;

	memset(&k, 0, sizeof(k));
	memset(k.s, c, IPC_SESSION_LEN);
	return k;
}

/* a container id: 64 of one hex digit */
static const char *
cid(char c)
{
	static char ids[16][DK_ID_LEN + 1];
	static size_t n;
	char *id = ids[n++ % 16];

	memset(id, c, DK_ID_LEN);
	id[DK_ID_LEN] = '\0';
	return id;
}

static struct policy p, p2;

/* take and keep: only the same key gets the sandbox back, with its stat */
static void
test_take_keep(void)
{
	struct key a = key('a'), b = key('b');
	char id[DK_ID_LEN + 1], stat[DKH_STAT_MAX];

	CHECK(session_take(a.s, &p, 0, id, stat) == -1);	/* new: reserved */
	CHECK(session_keep(a.s, &p, 0, cid('1'), "stat-a") == 0);
	/* another key (another user, or another hint) never gets it */
	memset(id, 0, sizeof(id));
	CHECK(session_take(b.s, &p, 0, id, stat) == -1);
	CHECK(strcmp(id, cid('1')) != 0);
	CHECK(session_keep(b.s, &p, 0, cid('2'), "stat-b") == 0);
	/* the same key does, as its last call left it */
	CHECK(session_take(a.s, &p, 0, id, stat) == 0);
	CHECK(strcmp(id, cid('1')) == 0);
	CHECK(strcmp(stat, "stat-a") == 0);
	CHECK(session_keep(a.s, &p, 0, cid('1'), "stat-a2") == 0);
	CHECK(session_take(b.s, &p, 0, id, stat) == 0);
	CHECK(strcmp(id, cid('2')) == 0 && strcmp(stat, "stat-b") == 0);
	session_drop(b.s);
	session_drop(a.s);
	/* a keep for a key that holds nothing keeps nothing */
	CHECK(session_keep(a.s, &p, 0, cid('1'), "") == -1);
	CHECK(nremoved == 0);
}

/* all slots in use: the idle session used longest ago gives its slot up */
static void
test_evict(void)
{
	struct key a = key('a'), b = key('b'), c = key('c'), d = key('d');
	char id[DK_ID_LEN + 1], stat[DKH_STAT_MAX];
	struct timespec ts = { 0, 20 * 1000000L };

	nremoved = 0;
	CHECK(session_take(a.s, &p, 0, id, stat) == -1);
	CHECK(session_keep(a.s, &p, 0, cid('3'), "") == 0);
	nanosleep(&ts, NULL);
	CHECK(session_take(b.s, &p, 0, id, stat) == -1);
	CHECK(session_keep(b.s, &p, 0, cid('4'), "") == 0);
	/* p keeps 2: c takes a's slot (idle longest), a's sandbox is removed */
	CHECK(session_take(c.s, &p, 0, id, stat) == -1);
	CHECK(nremoved == 1 && was_removed(cid('3')));
	/* b idle, c busy: d takes b's slot */
	CHECK(session_take(d.s, &p, 0, id, stat) == -1);
	CHECK(nremoved == 2 && was_removed(cid('4')));
	/* c and d busy: no slot for a, which runs in a sandbox kept by nobody */
	CHECK(session_take(a.s, &p, 0, id, stat) == -2);
	/* a's sandbox went with its slot: a starts anew once a slot is free */
	session_drop(c.s);
	CHECK(session_take(a.s, &p, 0, id, stat) == -1);
	session_drop(a.s);
	session_drop(d.s);
}

/* a sandbox kept under another policy or on another image is not reused */
static void
test_policy_image(void)
{
	struct key a = key('a');
	char id[DK_ID_LEN + 1], stat[DKH_STAT_MAX];

	nremoved = 0;
	CHECK(session_take(a.s, &p, 0, id, stat) == -1);
	CHECK(session_keep(a.s, &p, 0, cid('5'), "") == 0);
	CHECK(session_take(a.s, &p2, 0, id, stat) == -1);	/* reserved anew */
	CHECK(nremoved == 1 && was_removed(cid('5')));
	CHECK(session_keep(a.s, &p2, 0, cid('6'), "") == 0);
	CHECK(session_take(a.s, &p2, 1, id, stat) == -1);	/* another image */
	CHECK(nremoved == 2 && was_removed(cid('6')));
	session_drop(a.s);
}

/* expiry: at session-idle, or under a policy no longer in force; never busy */
static void
test_expire(void)
{
	struct key a = key('a'), b = key('b');
	char id[DK_ID_LEN + 1], stat[DKH_STAT_MAX];
	struct dk dk;
	uint64_t now;

	dk_open(&dk, privd.sockproxy);
	nremoved = 0;
	CHECK(session_take(a.s, &p, 0, id, stat) == -1);
	CHECK(session_keep(a.s, &p, 0, cid('7'), "") == 0);
	CHECK(session_take(b.s, &p, 0, id, stat) == -1);	/* b stays busy */
	now = cw_now_ms();
	CHECK(session_expire(&dk, &p, now) == 0);
	CHECK(session_expire(&dk, &p, now + p.session_idle_ms - 100) == 0);
	CHECK(session_expire(&dk, &p, now + p.session_idle_ms + 100) == 1);
	CHECK(nremoved == 1 && was_removed(cid('7')));
	/* a busy session never expires, however long */
	CHECK(session_expire(&dk, &p, now + 1000 * p.session_idle_ms) == 0);
	CHECK(nremoved == 1);
	/* a's next call starts anew */
	CHECK(session_take(a.s, &p, 0, id, stat) == -1);
	CHECK(session_keep(a.s, &p, 0, cid('8'), "") == 0);
	/* a reload: kept under p, expired at once under p2 */
	CHECK(session_expire(&dk, &p2, cw_now_ms()) == 1);
	CHECK(nremoved == 2 && was_removed(cid('8')));
	session_drop(b.s);
	CHECK(session_expire(&dk, &p, UINT64_MAX / 2) == 0);	/* none left */
	dk_close(&dk);
}

/* a call finds its session busy: it waits for the keep, and gets the sandbox */
static void *
keep_later(void *arg)
{
	const struct key *a = arg;
	struct timespec ts = { 0, 200 * 1000000L };

	nanosleep(&ts, NULL);
	CHECK(session_keep(a->s, &p, 0, cid('9'), "later") == 0);
	return NULL;
}

static void
test_busy(void)
{
	struct key a = key('a');
	char id[DK_ID_LEN + 1], stat[DKH_STAT_MAX];
	pthread_t t;

	CHECK(session_take(a.s, &p, 0, id, stat) == -1);
	CHECK(pthread_create(&t, NULL, keep_later, &a) == 0);
	CHECK(session_take(a.s, &p, 0, id, stat) == 0);
	CHECK(strcmp(id, cid('9')) == 0 && strcmp(stat, "later") == 0);
	pthread_join(t, NULL);
	/* stopping: every call runs in a sandbox kept by nobody */
	session_stop();
	session_drop(a.s);
	CHECK(session_take(a.s, &p, 0, id, stat) == -2);
	CHECK(session_keep(a.s, &p, 0, cid('9'), "") == -1);
}

int
main(void)
{
	p.sessions = 2;
	p.session_idle_ms = 60000;
	p2 = p;
	privd.policy = &p;
	session_use_ops(&fake);
	test_take_keep();
	test_evict();
	test_policy_image();
	test_expire();
	test_busy();
	return check_done("session");
}
