/*
 * The workers of isolation jail (privd/wpool.c) and a session's hold on
 * its worker (privd/session.c) without Docker: the Docker side is a fake
 * that hands out numbered ids, opens no channel and records each removal;
 * the filler is driven one wpool_step() at a time. A worker serves again
 * only after a clean job, under 'reuse' and 'worker-age', for runs of the
 * policy it was made under; one in doubt is removed, never handed out; a
 * session gets only a worker that never ran a job and keeps it to itself;
 * a resync drops every idle worker and the filler refills.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkhttp.h"
#include "privd.h"
#include "session.h"
#include "util.h"
#include "wpool.h"

#include "../lib/check.h"
#include "fake_removals.h"

struct privd privd = {
	.send_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.sockproxy = "/nonexistent/sockproxy.sock",
};

static struct policy p, p2;

static struct {
	unsigned	made, opened;
	int		fail_open;	/* the next open fails */
} fk;

static int
fake_create(struct dk *dk, const struct policy *pol, int image, int prewarm_py,
    char *id)
{
	(void)dk;
	(void)pol;
	CHECK(image == 0 && prewarm_py == 0);
	snprintf(id, DK_ID_LEN + 1, "%064u", ++fk.made);
	return 0;
}

static int
fake_stat(struct dk *dk, const char *id, char *stat, size_t len)
{
	(void)dk;
	(void)id;
	snprintf(stat, len, "-");
	return 0;
}

static int
fake_open(struct dk *dk, struct worker *w, uint64_t deadline_ms)
{
	(void)deadline_ms;
	if (fk.fail_open) {
		fk.fail_open = 0;
		snprintf(dk->err, sizeof(dk->err), "no hello");
		return -1;
	}
	fk.opened++;
	w->fd = -1;
	return 0;
}

static const struct sandbox_ops fake = { fake_create, fake_stat, fake_remove,
    fake_open };

static struct dk dk;

/* step the filler until it waits or stops; the steps that did something */
static int
fill(uint64_t now, enum pool_step *last)
{
	enum pool_step s;
	uint64_t wait;
	int n = 0;

	while ((s = wpool_step(&dk, now, &wait)) != POOL_WAIT &&
	    s != POOL_STOPPED && n < 100)
		n++;
	*last = s;
	return n;
}

static void
test_fill_reuse(void)
{
	struct worker *a, *b, *c;
	enum pool_step last;
	uint32_t ready, cap;
	char id[DK_ID_LEN + 1];
	size_t before;
	int i;

	privd.policy = &p;
	CHECK(wpool_configure(&p) == 1);
	CHECK(fill(cw_now_ms(), &last) == 2 && last == POOL_WAIT);
	wpool_sizes(&ready, &cap);
	CHECK(ready == 2 && cap == 2 && fk.made == 2 && fk.opened == 2);
	/* one taken: still two (one at work), nothing to make */
	CHECK((a = wpool_take(&p, 0, 0)) != NULL);
	CHECK(fill(cw_now_ms(), &last) == 0);
	/* a clean job: back; the next run gets the one back last */
	a->jobs++;
	wpool_put(&dk, a, 1);
	CHECK((b = wpool_take(&p, 0, 0)) == a);
	/* 'reuse' jobs: removed, never handed out again; the filler makes one */
	memcpy(id, a->cid, sizeof(id));
	for (i = 1; i < (int)p.reuse; i++)
		a->jobs++;
	wpool_put(&dk, a, 1);
	CHECK(was_removed(id));
	CHECK(fill(cw_now_ms(), &last) == 1 && fk.made == 3);
	/* a job in doubt (a violation, no EXIT after the KILL): removed */
	CHECK((c = wpool_take(&p, 0, 0)) != NULL);
	memcpy(id, c->cid, sizeof(id));
	c->jobs++;
	wpool_put(&dk, c, 0);
	CHECK(was_removed(id));
	CHECK(fill(cw_now_ms(), &last) == 1);
	/* an empty pool: a run makes its own; one beyond the pool's count goes */
	CHECK((a = wpool_take(&p, 0, 0)) != NULL && (b = wpool_take(&p, 0, 0)) != NULL);
	CHECK(wpool_take(&p, 0, 0) == NULL);
	CHECK((c = wpool_make(&dk, &p, 0, 0)) != NULL);
	before = nremoved;
	a->jobs++, b->jobs++, c->jobs++;
	wpool_put(&dk, a, 1);
	wpool_put(&dk, b, 1);
	wpool_put(&dk, c, 1);
	CHECK(nremoved == before + 1);
	wpool_sizes(&ready, &cap);
	CHECK(ready == 2);
	/* a worker whose agent never said hello is removed */
	fk.fail_open = 1;
	CHECK(wpool_make(&dk, &p, 0, 0) == NULL);
	CHECK(was_removed(removed[nremoved - 1]) && nremoved >= 4);
	/* another policy's run never gets one */
	CHECK(wpool_take(&p2, 0, 0) == NULL);
}

static void
test_age(void)
{
	struct worker *w;
	enum pool_step last;
	uint32_t ready, cap;
	char id[DK_ID_LEN + 1];
	uint64_t wait;
	size_t before;

	/* back from a job at its age: removed */
	CHECK((w = wpool_take(&p, 0, 0)) != NULL);
	memcpy(id, w->cid, sizeof(id));
	w->born_ms -= p.worker_age_ms;
	w->jobs++;
	wpool_put(&dk, w, 1);
	CHECK(was_removed(id));
	CHECK(fill(cw_now_ms(), &last) == 1);
	/* idle ones reach their age: the filler removes and replaces them */
	before = nremoved;
	CHECK(wpool_step(&dk, cw_now_ms() + p.worker_age_ms, &wait) == POOL_REMOVED);
	CHECK(wpool_step(&dk, cw_now_ms() + p.worker_age_ms, &wait) == POOL_REMOVED);
	CHECK(nremoved == before + 2);
	CHECK(fill(cw_now_ms(), &last) == 2);
	wpool_sizes(&ready, &cap);
	CHECK(ready == 2);
}

static void
test_resync_drop(void)
{
	char ids[8][DK_ID_LEN + 1];
	enum pool_step last;
	uint32_t ready, cap;

	CHECK(wpool_drop(ids, 8) == 2);
	wpool_sizes(&ready, &cap);
	CHECK(ready == 0);
	CHECK(fill(cw_now_ms(), &last) == 2);
	wpool_sizes(&ready, &cap);
	CHECK(ready == 2);
	/* a reload: the old ones removed first, then the new policy's made */
	CHECK(wpool_configure(&p2) == 1);
	CHECK(fill(cw_now_ms(), &last) == 4);
	CHECK(wpool_take(&p, 0, 0) == NULL);
	CHECK(wpool_configure(&p) == 1);
	CHECK(fill(cw_now_ms(), &last) == 4);
}

/* a key as frontd makes it: 32 hex digits */
static const char *
key(int n)
{
	static char k[4][IPC_SESSION_MAX];

	snprintf(k[n], sizeof(k[n]), "%032x", n + 1);
	return k[n];
}

static void
test_session_ownership(void)
{
	struct worker *w, *got = NULL, *s;
	char cid[DK_ID_LEN + 1], stat[DKH_STAT_MAX];
	enum pool_step last;
	size_t before;

	session_use_ops(&fake);
	/* a worker that ran a job is never a session's */
	CHECK((w = wpool_take(&p, 0, 0)) != NULL);
	w->jobs++;
	wpool_put(&dk, w, 1);
	CHECK((s = wpool_take(&p, 0, 1)) != NULL && s != w && s->jobs == 0 &&
	    s->session);
	/* the session's first call reserves; its worker kept with it */
	CHECK(session_take_worker(key(0), &p, 0, cid, stat, &got) == -1);
	s->jobs++;
	CHECK(session_keep_worker(key(0), &p, 0, s->cid, "", s) == 0);
	/* its next call gets it; another session (another user) does not */
	CHECK(session_take_worker(key(0), &p, 0, cid, stat, &got) == 0 && got == s);
	CHECK(strcmp(cid, s->cid) == 0);
	CHECK(session_keep_worker(key(0), &p, 0, s->cid, "", s) == 0);
	got = NULL;
	CHECK(session_take_worker(key(1), &p, 0, cid, stat, &got) == -1 && got == NULL);
	session_drop(key(1));
	/* the session's worker never went back to the pool */
	while ((w = wpool_take(&p, 0, 0)) != NULL) {
		CHECK(w != s);
		wpool_discard(&dk, w);
	}
	CHECK(fill(cw_now_ms(), &last) == 2);
	/* idle past session-idle: the session's worker removed with it */
	before = nremoved;
	CHECK(session_expire(&dk, &p, cw_now_ms() + p.session_idle_ms) == 1);
	CHECK(nremoved == before + 1 && was_removed(cid));
	CHECK(session_take_worker(key(0), &p, 0, cid, stat, &got) == -1);
	session_drop(key(0));
}

/*
 * As many workers as may run at once ([concurrency] total, past 'pool')
 * are kept when they come back; one idle past 'pool' for a minute goes
 */
static void
test_surplus(void)
{
	struct worker *w[3];
	uint32_t ready, cap, age = p.worker_age_ms;
	uint64_t wait, later;
	size_t before, i;

	p.conc_total = 3;
	p.worker_age_ms = 3600000;
	for (i = 0; i < 3; i++) {
		if ((w[i] = wpool_take(&p, 0, 0)) == NULL)
			w[i] = wpool_make(&dk, &p, 0, 0);
		CHECK(w[i] != NULL);
	}
	before = nremoved;
	for (i = 0; i < 3; i++) {
		w[i]->jobs++;
		wpool_put(&dk, w[i], 1);
	}
	CHECK(nremoved == before);
	wpool_sizes(&ready, &cap);
	CHECK(ready == 3);
	/* idle a minute: the one over 'pool' goes, the pool's two stay */
	later = cw_now_ms() + 61000;
	CHECK(wpool_step(&dk, later, &wait) == POOL_REMOVED);
	CHECK(nremoved == before + 1);
	CHECK(wpool_step(&dk, later, &wait) == POOL_WAIT);
	wpool_sizes(&ready, &cap);
	CHECK(ready == 2);
	p.conc_total = 0;
	p.worker_age_ms = age;
}

/*
 * A worker RETIRE_AHEAD jobs before 'reuse' is retiring: the filler makes
 * its successor while it still serves, it serves to its end, and then no
 * run has to make a worker of its own.
 */
static void
test_successor(void)
{
	struct worker *w, *x;
	enum pool_step last;
	uint32_t ready, cap, reuse = p.reuse;
	char id[DK_ID_LEN + 1];

	p.reuse = 8;	/* ahead: 8 / 4 = 2 jobs */
	CHECK(fill(cw_now_ms(), &last) == 0);
	CHECK((w = wpool_take(&p, 0, 0)) != NULL);
	w->jobs = 5;
	wpool_put(&dk, w, 1);
	CHECK((x = wpool_take(&p, 0, 0)) == w);
	CHECK(fill(cw_now_ms(), &last) == 0);	/* 5 + 2 < 8: not yet */
	w->jobs = 6;
	wpool_put(&dk, w, 1);
	CHECK((x = wpool_take(&p, 0, 0)) == w);	/* 6 + 2: retiring */
	CHECK(fill(cw_now_ms(), &last) == 1);	/* its successor, now */
	w->jobs = 7;
	wpool_put(&dk, w, 1);			/* still serves: kept */
	wpool_sizes(&ready, &cap);
	/* frontd holds privd to ready <= capacity (ipc.c): the one ahead counts */
	CHECK(ready == 3 && cap == 3);
	CHECK((x = wpool_take(&p, 0, 0)) == w);
	memcpy(id, w->cid, sizeof(id));
	w->jobs = 8;
	wpool_put(&dk, w, 1);			/* at 'reuse': removed */
	CHECK(was_removed(id));
	CHECK(fill(cw_now_ms(), &last) == 0);	/* its successor is there */
	wpool_sizes(&ready, &cap);
	CHECK(ready == 2 && cap == 2);
	p.reuse = reuse;
}

static void
test_stop(void)
{
	uint64_t wait;

	wpool_stop_filling();
	CHECK(wpool_step(&dk, cw_now_ms(), &wait) == POOL_STOPPED);
}

int
main(void)
{
	p.isolation = ISOLATION_JAIL;
	p.pool = 2;
	p.reuse = 3;
	p.worker_age_ms = 60000;
	p.sessions = 4;
	p.session_idle_ms = 600000;
	p.langs[LANG_PY].enabled = 1;
	p.langs[LANG_BASH].enabled = 1;
	p2 = p;
	wpool_use_ops(&fake);
	dk_open(&dk, privd.sockproxy);
	test_fill_reuse();
	test_age();
	test_resync_drop();
	test_session_ownership();
	test_surplus();
	test_successor();
	test_stop();
	return check_done("wpool");
}
