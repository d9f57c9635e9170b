/*
 * The workers of policy isolation jail (SECURITY.md, "privd"): a worker is
 * a started sandbox container (sockproxy gives it the workers' seccomp
 * profile) with its agent's channel open, serving one job at a time, any
 * language of its image. A filler thread keeps 'pool' workers per image
 * an enabled language uses, counting those at work; a worker that served a
 * job cleanly goes back to the idle ones (while the image's workers number
 * fewer than the larger of 'pool' and [concurrency] 'total', so that as
 * many runs as may run at once find one; one idle past 'pool' for
 * SURPLUS_IDLE_MS goes), until it has served 'reuse' jobs
 * or reached 'worker-age': then, or after any job that did not end
 * cleanly (a channel violation, an error, a KILL not answered), it is
 * removed, never handed out again. A worker near that end (RETIRE_AHEAD
 * jobs or AGE_AHEAD_MS before it) is 'retiring': the filler counts it no
 * more and makes its successor while it still serves, so that its end
 * does not leave a run to make a worker on the request path. A session's worker (session.c holds
 * it) is one that never ran a job, and leaves the pool. A reload, a resync
 * (resync.c) and a shutdown drop the idle workers. Like pool.c a leaf: its
 * Docker side is struct sandbox_ops, the channel worker.c's.
 */
#include "wpool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "privd.h"
#include "util.h"

#define HELLO_MS	60000	/* a new worker's agent says hello by then */
#define SURPLUS_IDLE_MS	60000	/* an idle worker beyond 'pool' goes after this */
#define RETIRE_AHEAD_MAX 16	/* jobs before 'reuse' a successor is made */
#define AGE_AHEAD_MS	5000	/* and before 'worker-age' */
#define STALE_MAX	(POLICY_IMAGES_MAX * POLICY_POOL_CEIL)

static struct wpool {
	struct worker	*idle[POLICY_POOL_CEIL];	/* oldest first */
	size_t		n;
	uint32_t	busy;		/* handed out, not yet back */
	uint32_t	retiring;	/* of the idle and busy ones: w->retiring */
	int		used;		/* an enabled language runs on it */
} pools[POLICY_IMAGES_MAX];

static struct worker	*stale[STALE_MAX];	/* for the filler to remove */
static size_t		nstale;
static const struct policy *gen;	/* the policy the pools are under */
static uint32_t		target;		/* 'pool', or 0 when not jail */

static pthread_mutex_t	wp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	wp_wake = PTHREAD_COND_INITIALIZER;
static int		wp_stop;
static pthread_t	filler_thread;
static int		filler_running;

static const struct sandbox_ops *ops = &sandbox_docker;

void
wpool_use_ops(const struct sandbox_ops *o)
{
	ops = o;
}

/*
 * How many workers (idle and at work) an image keeps: 'pool', or as many
 * as may run at once when that is more; one at least (a worker is reused)
 */
static uint32_t
keep_max(const struct policy *p)
{
	uint32_t k = target > 0 ? target : 1;

	return p->conc_total > k ? p->conc_total : k;
}

/* the workers a pool counts: the idle and busy ones not retiring */
static uint32_t
staying(const struct wpool *pl)
{
	uint32_t live = (uint32_t)pl->n + pl->busy;

	return live > pl->retiring ? live - pl->retiring : 0;
}

/*
 * w (idle or busy in pl) near its end: its successor is wanted now; 1 when
 * it became so (the filler is to be woken). wp_lock held.
 */
static int
retire_soon_locked(struct wpool *pl, struct worker *w, uint64_t now)
{
	const struct policy *p = w->policy;
	uint32_t ahead = p->reuse / 4 < RETIRE_AHEAD_MAX ? p->reuse / 4 :
	    RETIRE_AHEAD_MAX;

	if (w->retiring || w->session)
		return 0;
	if (w->jobs + ahead < p->reuse && (now <= w->born_ms ||
	    now - w->born_ms + AGE_AHEAD_MS < p->worker_age_ms))
		return 0;
	w->retiring = 1;
	pl->retiring++;
	return 1;
}

/* w leaves pl for good (removed, or a session's): no longer counted */
static void
forget_locked(struct wpool *pl, struct worker *w)
{
	if (w->retiring && pl->retiring > 0)
		pl->retiring--;
	w->retiring = 0;
}

/* now may be a moment older than the worker (read before it was made) */
static int
aged(const struct worker *w, uint64_t now)
{
	return now > w->born_ms && now - w->born_ms >= w->policy->worker_age_ms;
}

/* the channel closed and the container removed */
static void
remove_worker(struct dk *dk, struct worker *w)
{
	char cid[DK_ID_LEN + 1];

	memcpy(cid, w->cid, sizeof(cid));
	worker_close(w);
	ops->remove(dk, cid);
}

/* w to the filler to remove, or 0 when that list is full; wp_lock held */
static int
stale_add_locked(struct worker *w)
{
	if (nstale >= STALE_MAX)
		return 0;
	stale[nstale++] = w;
	return 1;
}

/* idle[i] out of its pool; wp_lock held */
static struct worker *
unlink_locked(struct wpool *pl, size_t i)
{
	struct worker *w = pl->idle[i];

	memmove(&pl->idle[i], &pl->idle[i + 1],
	    (pl->n - i - 1) * sizeof(pl->idle[0]));
	pl->n--;
	return w;
}

/* idle workers past their age to the stale list; the next due, or UINT64_MAX */
static uint64_t
age_out_locked(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	size_t i, k;

	for (i = 0; i < POLICY_IMAGES_MAX; i++)
		for (k = 0; k < pools[i].n; ) {
			struct worker *w = pools[i].idle[k];

			/* oldest first: the surplus over 'pool' idle too long */
			if ((aged(w, now) || (pools[i].n > target &&
			    now > w->idle_ms &&
			    now - w->idle_ms >= SURPLUS_IDLE_MS)) &&
			    nstale < STALE_MAX) {
				forget_locked(&pools[i], w);
				stale_add_locked(unlink_locked(&pools[i], k));
				continue;
			}
			(void)retire_soon_locked(&pools[i], w, now);
			if (pools[i].n > target &&
			    w->idle_ms + SURPLUS_IDLE_MS < next)
				next = w->idle_ms + SURPLUS_IDLE_MS;
			if (w->born_ms + w->policy->worker_age_ms < next)
				next = w->born_ms + w->policy->worker_age_ms;
			k++;
		}
	return next;
}

/* what the filler does next (pool.c's steps); wp_lock held */
static enum pool_step
next_locked(uint64_t now, int *image, struct worker **gone, uint64_t *wait_ms)
{
	uint64_t due;
	int i;

	if (wp_stop || privd.stopping)
		return POOL_STOPPED;
	due = age_out_locked(now);
	if (nstale > 0) {
		*gone = stale[--nstale];
		return POOL_REMOVED;
	}
	for (i = 0; i < POLICY_IMAGES_MAX; i++)
		if (pools[i].used && staying(&pools[i]) < target) {
			*image = i;
			return POOL_FILLED;
		}
	*wait_ms = due == UINT64_MAX ? UINT64_MAX : due > now ? due - now : 0;
	return POOL_WAIT;
}

struct worker *
wpool_make(struct dk *dk, const struct policy *p, int image, int for_session)
{
	struct worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(dk->err, sizeof(dk->err), "out of memory");
		return NULL;
	}
	w->fd = w->ch.toolfd = -1;	/* (chan_init again at its open) */
	w->policy = p;
	w->image = image;
	w->session = for_session;
	if (ops->create(dk, p, image, 0, w->cid) != 0) {
		free(w);
		return NULL;
	}
	w->born_ms = cw_now_ms();
	if (ops->open(dk, w, w->born_ms + HELLO_MS) != 0) {
		char err[sizeof(dk->err)];

		memcpy(err, dk->err, sizeof(err));
		remove_worker(dk, w);
		memcpy(dk->err, err, sizeof(err));
		return NULL;
	}
	if (!for_session) {
		pthread_mutex_lock(&wp_lock);
		pools[image].busy++;
		pthread_mutex_unlock(&wp_lock);
	}
	return w;
}

/* a worker for image under gen, into its pool if still wanted */
static enum pool_step
fill(struct dk *dk, int image)
{
	const struct policy *p;
	struct worker *w;
	struct wpool *pl = &pools[image];

	pthread_mutex_lock(&wp_lock);
	p = gen;
	pthread_mutex_unlock(&wp_lock);
	/* made as a session's would be: not counted busy, it goes idle */
	if ((w = wpool_make(dk, p, image, 1)) == NULL) {
		log_warnx("wpool: %s", dk->err);
		return POOL_FAILED;
	}
	w->session = 0;
	pthread_mutex_lock(&wp_lock);
	if (wp_stop || privd.stopping || p != gen || staying(pl) >= target) {
		pthread_mutex_unlock(&wp_lock);
		remove_worker(dk, w);
		return POOL_DISCARDED;
	}
	w->idle_ms = cw_now_ms();
	pl->idle[pl->n++] = w;
	pthread_cond_broadcast(&wp_wake);
	pthread_mutex_unlock(&wp_lock);
	return POOL_FILLED;
}

enum pool_step
wpool_step(struct dk *dk, uint64_t now, uint64_t *wait_ms)
{
	enum pool_step what;
	struct worker *gone = NULL;
	int image = 0;

	pthread_mutex_lock(&wp_lock);
	what = next_locked(now, &image, &gone, wait_ms);
	pthread_mutex_unlock(&wp_lock);
	if (what == POOL_REMOVED) {
		remove_worker(dk, gone);
		return POOL_REMOVED;
	}
	return what == POOL_FILLED ? fill(dk, image) : what;
}

static void *
filler(void *arg)
{
	struct dk dk;

	(void)arg;
	if (dk_open(&dk, privd.sockproxy) < 0)
		fatalx("wpool: no Docker client");
	for (;;) {
		enum pool_step what;
		struct worker *gone = NULL;
		uint64_t wait_ms = 0;
		int image = 0;

		pthread_mutex_lock(&wp_lock);
		while ((what = next_locked(cw_now_ms(), &image, &gone,
		    &wait_ms)) == POOL_WAIT) {
			struct timespec ts;

			if (wait_ms == UINT64_MAX) {
				pthread_cond_wait(&wp_wake, &wp_lock);
				continue;
			}
			cw_abstime_ms(&ts, wait_ms);
			(void)pthread_cond_timedwait(&wp_wake, &wp_lock, &ts);
		}
		pthread_mutex_unlock(&wp_lock);
		if (what == POOL_STOPPED)
			break;
		if (what == POOL_REMOVED)
			remove_worker(&dk, gone);
		else if (fill(&dk, image) == POOL_FAILED) {
			struct timespec ts = { 1, 0 };

			nanosleep(&ts, NULL);	/* the engine is busy or down */
		}
	}
	dk_close(&dk);
	return NULL;
}

int
wpool_configure(const struct policy *p)
{
	size_t i;
	int l, need;

	pthread_mutex_lock(&wp_lock);
	for (i = 0; i < POLICY_IMAGES_MAX; i++) {
		while (pools[i].n > 0 && nstale < STALE_MAX) {
			forget_locked(&pools[i], pools[i].idle[pools[i].n - 1]);
			stale_add_locked(unlink_locked(&pools[i], pools[i].n - 1));
		}
		pools[i].used = 0;
	}
	gen = p;
	target = p->isolation == ISOLATION_JAIL ? p->pool : 0;
	/* an image some language runs on: filled to 'pool', and reported
	 * (wpool_sizes) even at pool 0, when runs leave idle workers in it */
	for (l = 0; l < LANG_COUNT && p->isolation == ISOLATION_JAIL; l++)
		if (p->langs[l].enabled)
			pools[p->langs[l].image].used = 1;
	need = p->isolation == ISOLATION_JAIL || nstale > 0;
	pthread_cond_broadcast(&wp_wake);
	pthread_mutex_unlock(&wp_lock);
	return need;
}

static void
filler_start(void)
{
	if (filler_running)
		return;
	if (cw_thread_spawn(&filler_thread, filler, NULL, 256 * 1024) != 0)
		fatal("wpool: pthread_create");
	filler_running = 1;
}

void
wpool_init(void)
{
	if (wpool_configure(privd.policy))
		filler_start();
}

void
wpool_reload(void)
{
	wpool_init();
}

struct worker *
wpool_take(const struct policy *p, int image, int for_session)
{
	struct wpool *pl = &pools[image];
	struct worker *w = NULL;
	uint64_t now = cw_now_ms();
	size_t i;

	pthread_mutex_lock(&wp_lock);
	if (p != gen || image < 0 || image >= POLICY_IMAGES_MAX)
		goto out;
	/* the one back last (its caches warm); a session: one that never ran */
	for (i = pl->n; i > 0 && w == NULL; i--) {
		struct worker *c = pl->idle[i - 1];

		if (aged(c, now) || (for_session && c->jobs > 0))
			continue;
		w = unlink_locked(pl, i - 1);
	}
	if (w == NULL)
		goto out;
	if (for_session)
		forget_locked(pl, w);	/* it leaves the pool */
	w->session = for_session;
	if (!for_session) {
		pl->busy++;
		(void)retire_soon_locked(pl, w, now);
	}
	pthread_cond_broadcast(&wp_wake);	/* a refill, or the aged removed */
out:
	pthread_mutex_unlock(&wp_lock);
	return w;
}

/* w, one of pl's busy ones, wanted back idle (under wp_lock) */
static int
wanted_locked(struct wpool *pl, struct worker *w, uint64_t now)
{
	uint32_t others = staying(pl) - (w->retiring ? 0 : 1);

	/* a retiring one has its successor counted: kept while it may serve */
	return !wp_stop && !privd.stopping && w->policy == gen &&
	    w->jobs < w->policy->reuse && !aged(w, now) &&
	    (w->retiring || others < keep_max(w->policy)) &&
	    pl->n < POLICY_POOL_CEIL;
}

void
wpool_put(struct dk *dk, struct worker *w, int clean)
{
	struct wpool *pl = &pools[w->image];
	int keep;

	pthread_mutex_lock(&wp_lock);
	w->idle_ms = cw_now_ms();
	keep = clean && wanted_locked(pl, w, w->idle_ms);
	if (!keep)
		forget_locked(pl, w);
	if (pl->busy > 0)
		pl->busy--;
	if (keep)
		pl->idle[pl->n++] = w;
	pthread_cond_broadcast(&wp_wake);
	pthread_mutex_unlock(&wp_lock);
	if (!keep)
		remove_worker(dk, w);
}

int
wpool_put_kept(struct worker *w)
{
	struct wpool *pl = &pools[w->image];
	int keep;

	pthread_mutex_lock(&wp_lock);
	if ((keep = wanted_locked(pl, w, cw_now_ms()))) {
		w->idle_ms = cw_now_ms();
		if (pl->busy > 0)
			pl->busy--;
		pl->idle[pl->n++] = w;
		pthread_cond_broadcast(&wp_wake);
	}
	pthread_mutex_unlock(&wp_lock);
	return keep;
}

void
wpool_discard(struct dk *dk, struct worker *w)
{
	if (!w->session) {
		pthread_mutex_lock(&wp_lock);
		forget_locked(&pools[w->image], w);
		if (pools[w->image].busy > 0)
			pools[w->image].busy--;
		pthread_cond_broadcast(&wp_wake);
		pthread_mutex_unlock(&wp_lock);
	}
	remove_worker(dk, w);
}

size_t
wpool_drop(char ids[][DK_ID_LEN + 1], size_t max)
{
	size_t i, got = 0;

	pthread_mutex_lock(&wp_lock);
	for (i = 0; i < POLICY_IMAGES_MAX; i++)
		while (pools[i].n > 0 && got < max) {
			struct worker *w = unlink_locked(&pools[i], pools[i].n - 1);

			forget_locked(&pools[i], w);
			memcpy(ids[got++], w->cid, DK_ID_LEN + 1);
			worker_close(w);
		}
	pthread_cond_broadcast(&wp_wake);
	pthread_mutex_unlock(&wp_lock);
	return got;
}

void
wpool_sizes(uint32_t *ready, uint32_t *capacity)
{
	size_t i;

	*ready = *capacity = 0;
	pthread_mutex_lock(&wp_lock);
	for (i = 0; i < POLICY_IMAGES_MAX; i++)
		if (pools[i].used) {
			*ready += (uint32_t)pools[i].n;
			/* what wpool_release keeps idle at most, not only the
			 * filler's 'pool': a worker back from a run may stay,
			 * and a retiring one beside its successor */
			*capacity += (gen != NULL ? keep_max(gen) : target) +
			    pools[i].retiring;
		}
	pthread_mutex_unlock(&wp_lock);
}

void
wpool_stop_filling(void)
{
	pthread_mutex_lock(&wp_lock);
	wp_stop = 1;
	pthread_cond_broadcast(&wp_wake);
	pthread_mutex_unlock(&wp_lock);
	if (filler_running) {
		pthread_join(filler_thread, NULL);
		filler_running = 0;
	}
}
