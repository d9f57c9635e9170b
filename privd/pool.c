/*
 * The warm pool: started sandboxes kept ready, so an execution skips create
 * and start. Each pooled container is fresh (never ran code) and serves
 * exactly one execution, like one created on demand. There is one pool per
 * (image, kind): "plain" sandboxes, and for the languages the policy
 * pre-warms, sandboxes whose interpreter is already loaded, so a bash run
 * never pays for Python's imports. A filler thread keeps 'pool' containers
 * in every pool an enabled language uses; a taker that finds its pool empty
 * creates its own. Pooled containers are in the live list, so a shutdown
 * removes them with the rest. The pools belong to one policy (gen): a
 * reload hands every pooled sandbox to the filler to remove and refills
 * under the new policy, so the next run gets the new limits; a run of the
 * old policy finds no pool of its own and creates its sandbox. A resync
 * (resync.c) drops every pooled sandbox the same way, and the filler
 * refills from what sockproxy and the engine now are.
 */
#include "pool.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "dkhttp.h"
#include "docker.h"
#include "log.h"
#include "privd.h"
#include "util.h"

struct slot {
	char	id[DK_ID_LEN + 1];
	char	stat[DKH_STAT_MAX];	/* its work directory, or "" */
};

enum { KIND_PLAIN, KIND_WARM_PY, KINDS };

static struct pool {
	struct slot	ids[POLICY_POOL_CEIL];
	size_t		n;
	int		used;		/* an enabled language takes from it */
} pools[POLICY_IMAGES_MAX][KINDS];

/*
 * A refill waits while a run that took a pooled sandbox is still under way
 * (creating and starting a container competes with that run for the engine
 * and the CPU), but no longer than REFILL_DELAY_MS after the first take.
 */
#define REFILL_DELAY_MS	1000

/* pooled sandboxes of an older policy, for the filler to remove */
#define STALE_MAX	(POLICY_IMAGES_MAX * KINDS * POLICY_POOL_CEIL)
static char		stale[STALE_MAX][DK_ID_LEN + 1];
static size_t		nstale;
static const struct policy *gen;	/* the policy the pools are filled under */

static pthread_mutex_t	pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	pool_wake = PTHREAD_COND_INITIALIZER;
static uint32_t		busy;		/* runs on pooled sandboxes, unanswered */
static uint64_t		due_ms;		/* refill by then, busy or not */
static uint32_t		target;
static int		pool_stop;
static pthread_t	filler_thread;
static int		filler_running;

int
pool_prewarmed(const struct policy *p, int lang)
{
	return lang == LANG_PY && (p->prewarm & (1u << LANG_PY));
}

static struct pool *
pool_of(const struct policy *p, int lang)
{
	return &pools[p->langs[lang].image][pool_prewarmed(p, lang) ?
	    KIND_WARM_PY : KIND_PLAIN];
}

/* the first pool below target, or NULL */
static struct pool *
wanting(int *image, int *kind)
{
	int i, k;

	for (i = 0; i < POLICY_IMAGES_MAX; i++)
		for (k = 0; k < KINDS; k++)
			if (pools[i][k].used && pools[i][k].n < target) {
				*image = i;
				*kind = k;
				return &pools[i][k];
			}
	return NULL;
}

/* the Docker side: sandbox_docker, or a unit test's */
static const struct sandbox_ops *ops = &sandbox_docker;

void
pool_use_ops(const struct sandbox_ops *o)
{
	ops = o;
}

/* what the filler does next, as next_locked() decided it */
struct fill {
	int		image, kind;
	const struct policy *gen;	/* the policy to create under */
	char		id[DK_ID_LEN + 1];	/* an older policy's, to remove */
	uint64_t	wait_ms;	/* POOL_WAIT: how long; UINT64_MAX: until woken */
};

/*
 * The filler's decision at now: stop; remove an older policy's sandbox
 * (before anything is made); wait while no pool wants one, or while a run
 * that took a pooled sandbox is under way and the refill is not yet due;
 * else create one for the first pool below target. The caller holds
 * pool_lock.
 */
static enum pool_step
next_locked(uint64_t now, struct fill *f)
{
	if (pool_stop || privd.stopping)
		return POOL_STOPPED;
	if (nstale > 0) {
		memcpy(f->id, stale[--nstale], sizeof(f->id));
		return POOL_REMOVED;
	}
	if (wanting(&f->image, &f->kind) == NULL) {
		f->wait_ms = UINT64_MAX;
		return POOL_WAIT;
	}
	if (busy > 0 && now < due_ms) {
		/* wait for the runs to answer, or until the refill is due */
		f->wait_ms = due_ms - now;
		return POOL_WAIT;
	}
	f->gen = gen;
	return POOL_FILLED;
}

/*
 * Carry out what next_locked() decided: POOL_REMOVED (remove f->id) or
 * POOL_FILLED (make one); what came of it.
 */
static enum pool_step
act(struct dk *dk, enum pool_step what, struct fill *f)
{
	struct pool *pl = &pools[f->image][f->kind];
	char id[DK_ID_LEN + 1], stat[DKH_STAT_MAX];

	if (what == POOL_REMOVED) {
		ops->remove(dk, f->id);
		return POOL_REMOVED;
	}
	if (ops->create(dk, f->gen, f->image, f->kind == KIND_WARM_PY, id) != 0) {
		log_warnx("pool: %s", dk->err);
		return POOL_FAILED;
	}
	/*
	 * The empty work directory's stat, taken here off the answer's
	 * path: nothing in an idle sandbox writes there, so it is still the
	 * stat when a run takes the sandbox.
	 */
	if (ops->stat(dk, id, stat, sizeof(stat)) != 0)
		stat[0] = '\0';
	pthread_mutex_lock(&pool_lock);
	if (pool_stop || privd.stopping || f->gen != gen || pl->n >= target) {
		pthread_mutex_unlock(&pool_lock);
		ops->remove(dk, id);
		return POOL_DISCARDED;
	}
	memcpy(pl->ids[pl->n].id, id, sizeof(id));
	memcpy(pl->ids[pl->n].stat, stat, sizeof(stat));
	pl->n++;
	pthread_mutex_unlock(&pool_lock);
	return POOL_FILLED;
}

enum pool_step
pool_step(struct dk *dk, uint64_t now, uint64_t *wait_ms)
{
	enum pool_step what;
	struct fill f;

	pthread_mutex_lock(&pool_lock);
	what = next_locked(now, &f);
	pthread_mutex_unlock(&pool_lock);
	if (what == POOL_WAIT)
		*wait_ms = f.wait_ms;
	if (what == POOL_WAIT || what == POOL_STOPPED)
		return what;
	return act(dk, what, &f);
}

static void *
filler(void *arg)
{
	struct dk dk;

	(void)arg;
	if (dk_open(&dk, privd.sockproxy) < 0)
		fatalx("pool: no Docker client");
	for (;;) {
		enum pool_step what;
		struct fill f;

		pthread_mutex_lock(&pool_lock);
		while ((what = next_locked(cw_now_ms(), &f)) == POOL_WAIT) {
			struct timespec ts;

			if (f.wait_ms == UINT64_MAX) {
				pthread_cond_wait(&pool_wake, &pool_lock);
				continue;
			}
			cw_abstime_ms(&ts, f.wait_ms);
			(void)pthread_cond_timedwait(&pool_wake, &pool_lock, &ts);
		}
		pthread_mutex_unlock(&pool_lock);
		if (what == POOL_STOPPED)
			break;
		if (act(&dk, what, &f) == POOL_FAILED) {
			struct timespec ts = { 1, 0 };

			nanosleep(&ts, NULL);	/* the engine is busy or down */
		}
	}
	dk_close(&dk);
	return NULL;
}

/* the pools of p, empty; the caller holds pool_lock */
static void
pools_for(const struct policy *p)
{
	size_t i, k;
	int l;

	for (i = 0; i < POLICY_IMAGES_MAX; i++)
		for (k = 0; k < KINDS; k++) {
			pools[i][k].n = 0;
			pools[i][k].used = 0;
		}
	gen = p;
	/* isolation jail: the workers' pool (wpool.c) is the warm one */
	target = p->isolation == ISOLATION_JAIL ? 0 : p->pool;
	for (l = 0; l < LANG_COUNT && target > 0; l++)
		if (p->langs[l].enabled)
			pool_of(p, l)->used = 1;
}

static void
filler_start(void)
{
	if (filler_running)
		return;
	if (cw_thread_spawn(&filler_thread, filler, NULL, 256 * 1024) != 0)
		fatal("pool: pthread_create");
	filler_running = 1;
}

int
pool_configure(const struct policy *p)
{
	size_t i, k, n;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < POLICY_IMAGES_MAX; i++)
		for (k = 0; k < KINDS; k++)
			for (n = 0; n < pools[i][k].n && nstale < STALE_MAX; n++)
				memcpy(stale[nstale++], pools[i][k].ids[n].id,
				    DK_ID_LEN + 1);
	pools_for(p);
	n = nstale;
	pthread_cond_broadcast(&pool_wake);
	pthread_mutex_unlock(&pool_lock);
	return target > 0 || n > 0;
}

void
pool_init(void)
{
	if (pool_configure(privd.policy))
		filler_start();
}

void
pool_reload(void)
{
	if (pool_configure(privd.policy))
		filler_start();
}

size_t
pool_drop(char ids[][DK_ID_LEN + 1], size_t max)
{
	size_t i, k, n, got = 0;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < POLICY_IMAGES_MAX; i++)
		for (k = 0; k < KINDS; k++) {
			for (n = 0; n < pools[i][k].n && got < max; n++)
				memcpy(ids[got++], pools[i][k].ids[n].id,
				    DK_ID_LEN + 1);
			pools[i][k].n = 0;
		}
	pthread_cond_broadcast(&pool_wake);
	pthread_mutex_unlock(&pool_lock);
	return got;
}

int
pool_take(const struct policy *p, int lang, char *id, char *stat)
{
	struct pool *pl;
	int r = -1;

	if (lang < 0 || lang >= LANG_COUNT || !p->langs[lang].enabled)
		return -1;
	pthread_mutex_lock(&pool_lock);
	pl = pool_of(p, lang);
	/* only a run of the policy the pool was filled under */
	if (p == gen && target > 0 && pl->n > 0) {
		/* oldest first: it has waited longest (and finished importing) */
		memcpy(id, pl->ids[0].id, DK_ID_LEN + 1);
		memcpy(stat, pl->ids[0].stat, DKH_STAT_MAX);
		memmove(&pl->ids[0], &pl->ids[1], (pl->n - 1) * sizeof(pl->ids[0]));
		pl->n--;
		r = 0;
		if (busy++ == 0)
			due_ms = cw_now_ms() + REFILL_DELAY_MS;
	}
	pthread_cond_signal(&pool_wake);
	pthread_mutex_unlock(&pool_lock);
	return r;
}

void
pool_answered(void)
{
	pthread_mutex_lock(&pool_lock);
	if (busy > 0 && --busy == 0)
		pthread_cond_signal(&pool_wake);
	pthread_mutex_unlock(&pool_lock);
}

/* ready sandboxes and the pools' capacity, for HEALTH and METRICS */
void
pool_sizes(uint32_t *ready, uint32_t *capacity)
{
	size_t i, k;

	*ready = *capacity = 0;
	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < POLICY_IMAGES_MAX; i++) {
		for (k = 0; k < KINDS; k++) {
			if (!pools[i][k].used)
				continue;
			*ready += (uint32_t)pools[i][k].n;
			*capacity += target;
		}
	}
	pthread_mutex_unlock(&pool_lock);
}

/* stop the filler and wait for it: a sandbox it is creating joins the live list */
void
pool_stop_filling(void)
{
	pthread_mutex_lock(&pool_lock);
	pool_stop = 1;
	pthread_cond_broadcast(&pool_wake);
	pthread_mutex_unlock(&pool_lock);
	if (filler_running) {
		pthread_join(filler_thread, NULL);
		filler_running = 0;
	}
}
