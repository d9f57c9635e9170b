/*
 * GET /v1/health and /metrics without the work behind them multiplying with
 * the callers. Either asks privd, which asks sockproxy, which asks dockerd;
 * a flood of unauthenticated requests must not become a flood there (nor
 * take the sockproxy connections executions need). So each kind has one
 * request to privd in flight at most: a caller that comes while it is out
 * waits for its answer (as long as the request itself may take), and a
 * health answer is kept HEALTH_FRESH_MS and served from here. A failed
 * answer is kept too: a dead privd is not asked again each time.
 */
#include "health.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "privsep.h"
#include "util.h"

#define HEALTH_WAIT_MS		5000
#define METRICS_WAIT_MS		5000

struct shared {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;		/* CLOCK_MONOTONIC; a refresh ended */
	int		busy;		/* a request to privd is out */
	uint64_t	gen;		/* refreshes ended */
	uint64_t	at_ms;		/* when the last one ended */
	uint32_t	fresh_ms;	/* its answer is served this long */
	uint32_t	wait_ms;
	int		rc;		/* the last answer: 0, or -1 */
	int		ok;		/* HEALTH: privd said healthy */
	struct ipc_metrics_reply m;	/* METRICS */
};

static struct shared health = { .fresh_ms = HEALTH_FRESH_MS, .wait_ms = HEALTH_WAIT_MS };
static struct shared metrics = { .fresh_ms = 0, .wait_ms = METRICS_WAIT_MS };
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
shared_init1(struct shared *s)
{
	pthread_condattr_t ca;

	if (pthread_mutex_init(&s->lock, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&s->cond, &ca) != 0)
		fatalx("health: cannot set up its locks");
	pthread_condattr_destroy(&ca);
}

static void
shared_init(void)
{
	shared_init1(&health);
	shared_init1(&metrics);
}

/* ask privd, the one caller that does (lock not held) */
static int
ask(struct shared *s, int *ok, struct ipc_metrics_reply *m)
{
	if (s == &health) {
		*ok = privd_req_health(s->wait_ms);
		return 0;
	}
	return privd_req_metrics(m, s->wait_ms);
}

/* s->lock held: copy the last answer out */
static int
answer(const struct shared *s, struct ipc_metrics_reply *out)
{
	if (s->rc == 0 && out != NULL)
		*out = s->m;
	return s->rc == 0 && (s == &metrics || s->ok) ? 0 : -1;
}

static int
shared_get(struct shared *s, struct ipc_metrics_reply *out)
{
	struct ipc_metrics_reply m;
	struct timespec until;
	uint64_t gen, now;
	int rc, ok = 0;

	pthread_once(&once, shared_init);
	pthread_mutex_lock(&s->lock);
	now = cw_now_ms();
	if (s->gen > 0 && !s->busy && now - s->at_ms < s->fresh_ms) {
		rc = answer(s, out);
		goto out;
	}
	if (s->busy) {
		/* the refresh out answers us too; never wait longer than it may */
		gen = s->gen;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += s->wait_ms / 1000 + 1;
		while (s->busy && s->gen == gen)
			if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0)
				break;
		rc = s->gen != gen ? answer(s, out) : -1;
		goto out;
	}
	s->busy = 1;
	pthread_mutex_unlock(&s->lock);
	rc = ask(s, &ok, &m);
	pthread_mutex_lock(&s->lock);
	s->rc = rc;
	s->ok = ok;
	if (s == &metrics && rc == 0)
		s->m = m;
	s->busy = 0;
	s->gen++;
	s->at_ms = cw_now_ms();
	pthread_cond_broadcast(&s->cond);
	rc = answer(s, out);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
health_ok(void)
{
	return shared_get(&health, NULL) == 0;
}

int
health_metrics(struct ipc_metrics_reply *out)
{
	if (shared_get(&metrics, out) == 0)
		return 0;
	log_warnx("metrics: privd did not answer in %d ms", METRICS_WAIT_MS);
	return -1;
}
