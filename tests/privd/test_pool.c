/*
 * The warm pool's logic (privd/pool.c) without Docker: its Docker side is a
 * fake that hands out numbered ids and records each removal, and the
 * filler is driven one pool_step() at a time. A pooled sandbox is handed
 * out once, oldest first, only to a run of the policy the pools were
 * filled under and only for its kind (a pre-warmed Python or plain); the
 * refill waits while a run on a pooled sandbox is under way, up to its
 * delay; a reload hands the old pool to the filler to remove before it
 * makes anything; a resync's drop empties the pools; a sandbox made while
 * the policy changed is removed, not pooled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkhttp.h"
#include "pool.h"
#include "privd.h"
#include "util.h"

#include "../lib/check.h"
#include "fake_removals.h"

struct privd privd = {
	.send_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.sockproxy = "/nonexistent/sockproxy.sock",
};

static struct policy p, p2, p3;

/* --- the fake Docker side ------------------------------------------------- */

static struct {
	unsigned	made;		/* ids handed out: "<n>" padded */
	int		warm[64];	/* made with a pre-warmed Python */
	const struct policy *under[64];
	int		fail;		/* the next create fails */
	int		reload_in_create;	/* a reload while creating */
} fk;

static void
fake_id(unsigned n, char *id)
{
	snprintf(id, DK_ID_LEN + 1, "%064u", n);
}

static int
fake_create(struct dk *dk, const struct policy *pol, int image, int prewarm_py,
    char *id)
{
	CHECK(image == 0);
	if (fk.fail) {
		fk.fail = 0;
		snprintf(dk->err, sizeof(dk->err), "the engine is down");
		return -1;
	}
	if (fk.reload_in_create) {
		fk.reload_in_create = 0;
		privd.policy = &p3;
		(void)pool_configure(&p3);
	}
	fk.warm[fk.made % 64] = prewarm_py;
	fk.under[fk.made % 64] = pol;
	fake_id(++fk.made, id);
	return 0;
}

static int
fake_stat(struct dk *dk, const char *id, char *stat, size_t len)
{
	(void)dk;
	snprintf(stat, len, "stat of %.4s", id + DK_ID_LEN - 4);
	return 0;
}

static const struct sandbox_ops fake = { fake_create, fake_stat, fake_remove,
    NULL };

static struct dk dk;

/* step the filler until it waits or stops; the steps that did something */
static int
fill(uint64_t now, enum pool_step *last, uint64_t *wait_ms)
{
	enum pool_step s;
	int n = 0;

	while ((s = pool_step(&dk, now, wait_ms)) != POOL_WAIT &&
	    s != POOL_STOPPED && n < 100)
		n++;
	*last = s;
	return n;
}

static void
test_fill_take(void)
{
	char id[DK_ID_LEN + 1], stat[DKH_STAT_MAX], want[DK_ID_LEN + 1];
	enum pool_step last;
	uint32_t ready, cap;
	uint64_t wait = 0, now = cw_now_ms();

	privd.policy = &p;
	CHECK(pool_configure(&p) == 1);
	pool_sizes(&ready, &cap);
	CHECK(ready == 0 && cap == 4);	/* two kinds on one image, 2 each */
	/* the filler fills both pools, then waits until woken */
	CHECK(fill(now, &last, &wait) == 4);
	CHECK(last == POOL_WAIT && wait == UINT64_MAX);
	pool_sizes(&ready, &cap);
	CHECK(ready == 4 && cap == 4 && fk.made == 4);

	/* python takes a pre-warmed one, bash a plain one; oldest first */
	CHECK(pool_take(&p, LANG_PY, id, stat) == 0);
	CHECK(fk.warm[strtoul(id, NULL, 10) - 1] == 1);
	CHECK(strncmp(stat, "stat of ", 8) == 0);
	CHECK(pool_take(&p, LANG_BASH, want, stat) == 0);
	CHECK(fk.warm[strtoul(want, NULL, 10) - 1] == 0);
	CHECK(strcmp(id, want) != 0);
	CHECK(pool_take(&p, LANG_PY, want, stat) == 0);
	CHECK(strtoul(want, NULL, 10) > strtoul(id, NULL, 10));
	/* empty: the run creates its own */
	CHECK(pool_take(&p, LANG_PY, id, stat) == -1);
	/* a language the policy does not enable never gets one */
	CHECK(pool_take(&p, LANG_JS, id, stat) == -1);
	CHECK(pool_take(&p, -1, id, stat) == -1);
	/* a run of another policy never gets one of this policy's */
	CHECK(pool_take(&p2, LANG_BASH, id, stat) == -1);
	pool_sizes(&ready, &cap);
	CHECK(ready == 1);

	/*
	 * Three runs on pooled sandboxes, unanswered: the refill waits for
	 * them, at most REFILL_DELAY_MS (1 s) after the first take.
	 */
	now = cw_now_ms();
	CHECK(fill(now, &last, &wait) == 0 && last == POOL_WAIT);
	CHECK(wait > 0 && wait <= 1000);
	CHECK(fill(now + 1001, &last, &wait) == 3);	/* due: refilled */
	pool_sizes(&ready, &cap);
	CHECK(ready == 4);
	pool_answered();
	pool_answered();
	pool_answered();
	/* all answered: a take is refilled at once */
	CHECK(pool_take(&p, LANG_BASH, id, stat) == 0);
	pool_answered();
	CHECK(fill(cw_now_ms(), &last, &wait) == 1 && last == POOL_WAIT);
	CHECK(nremoved == 0);
}

static void
test_failed_create(void)
{
	char id[DK_ID_LEN + 1], stat[DKH_STAT_MAX];
	uint64_t wait;

	CHECK(pool_take(&p, LANG_PY, id, stat) == 0);
	pool_answered();
	fk.fail = 1;
	CHECK(pool_step(&dk, cw_now_ms(), &wait) == POOL_FAILED);
	CHECK(pool_step(&dk, cw_now_ms(), &wait) == POOL_FILLED);
}

/* a reload: the old pool is removed first, then the pools refill under p2 */
static void
test_reload(void)
{
	char id[DK_ID_LEN + 1], stat[DKH_STAT_MAX];
	enum pool_step last;
	uint32_t ready, cap;
	uint64_t wait;
	unsigned made = fk.made;

	privd.policy = &p2;
	CHECK(pool_configure(&p2) == 1);
	pool_sizes(&ready, &cap);
	CHECK(ready == 0 && cap == 2);	/* p2 pre-warms nothing: one pool */
	/* a run of the old policy finds no pool of its own */
	CHECK(pool_take(&p, LANG_PY, id, stat) == -1);
	CHECK(pool_step(&dk, cw_now_ms(), &wait) == POOL_REMOVED);
	CHECK(fill(cw_now_ms(), &last, &wait) == 3 + 2);
	CHECK(nremoved == 4 && fk.made == made + 2);
	CHECK(fk.under[(fk.made - 1) % 64] == &p2);
	CHECK(fk.warm[(fk.made - 1) % 64] == 0);
	CHECK(pool_take(&p2, LANG_PY, id, stat) == 0);	/* a plain one now */
	pool_answered();
	CHECK(pool_take(&p, LANG_PY, id, stat) == -1);

	/* a reload while a sandbox is being made: that one is not pooled */
	nremoved = 0;
	fk.reload_in_create = 1;
	CHECK(pool_step(&dk, cw_now_ms(), &wait) == POOL_DISCARDED);
	CHECK(nremoved == 1 &&
	    strcmp(removed[0], (fake_id(fk.made, id), id)) == 0);
	privd.policy = &p;
	(void)pool_configure(&p);
	CHECK(fill(cw_now_ms(), &last, &wait) > 0 && last == POOL_WAIT);
}

/* a resync: every pooled sandbox out, to the caller; the filler refills */
static void
test_drop_stop(void)
{
	char ids[8][DK_ID_LEN + 1], id[DK_ID_LEN + 1], stat[DKH_STAT_MAX];
	enum pool_step last;
	uint32_t ready, cap;
	uint64_t wait;

	CHECK(pool_drop(ids, 8) == 4);
	pool_sizes(&ready, &cap);
	CHECK(ready == 0 && cap == 4);
	CHECK(pool_take(&p, LANG_PY, id, stat) == -1);
	pool_answered();	/* (the take found none: no answer owed) */
	CHECK(fill(cw_now_ms(), &last, &wait) == 4);
	/* privd stopping, then the pool's own stop: the filler stops */
	privd.stopping = 1;
	CHECK(pool_step(&dk, cw_now_ms(), &wait) == POOL_STOPPED);
	privd.stopping = 0;
	pool_stop_filling();
	CHECK(pool_step(&dk, cw_now_ms(), &wait) == POOL_STOPPED);
	CHECK(pool_prewarmed(&p, LANG_PY) == 1 && pool_prewarmed(&p, LANG_BASH) == 0);
}

int
main(void)
{
	p.pool = 2;
	p.langs[LANG_PY].enabled = 1;
	p.langs[LANG_BASH].enabled = 1;
	p.prewarm = 1u << LANG_PY;
	p2 = p;
	p2.prewarm = 0;
	p3 = p2;
	pool_use_ops(&fake);
	dk_open(&dk, privd.sockproxy);
	test_fill_take();
	test_failed_create();
	test_reload();
	test_drop_stop();
	return check_done("pool");
}
