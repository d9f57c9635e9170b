/*
 * The warm pool: started sandboxes kept ready per image, so an execution
 * skips create and start. Each pooled container is fresh (never ran code)
 * and serves exactly one execution, like one created on demand. A filler
 * thread keeps 'pool' containers per image that an enabled language uses;
 * a taker that finds the pool empty creates its own. Pooled containers are
 * in the live list, so a shutdown removes them with the rest.
 */
#include "pool.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "docker.h"
#include "log.h"
#include "privd.h"

struct slot {
	char	id[DK_ID_LEN + 1];
};

static struct {
	struct slot	ids[POLICY_POOL_CEIL];
	size_t		n;
	int		used;		/* an enabled language runs this image */
} pools[POLICY_IMAGES_MAX];

static pthread_mutex_t	pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	pool_wake = PTHREAD_COND_INITIALIZER;
static uint32_t		target;
static int		pool_stop;

static int
full(void)
{
	size_t i;

	for (i = 0; i < POLICY_IMAGES_MAX; i++)
		if (pools[i].used && pools[i].n < target)
			return 0;
	return 1;
}

static void *
filler(void *arg)
{
	const struct policy *p = privd.policy;
	struct dk dk;
	size_t i;

	(void)arg;
	if (dk_open(&dk, privd.sockproxy) < 0)
		fatalx("pool: no Docker client");
	for (;;) {
		int want = -1;
		char id[DK_ID_LEN + 1];

		pthread_mutex_lock(&pool_lock);
		while (!pool_stop && !privd.stopping && full())
			pthread_cond_wait(&pool_wake, &pool_lock);
		if (pool_stop || privd.stopping) {
			pthread_mutex_unlock(&pool_lock);
			break;
		}
		for (i = 0; i < POLICY_IMAGES_MAX && want < 0; i++)
			if (pools[i].used && pools[i].n < target)
				want = (int)i;
		pthread_mutex_unlock(&pool_lock);

		if (sandbox_create(&dk, p->images[want].ref, id) != 0) {
			struct timespec ts = { 1, 0 };

			log_warnx("pool: %s", dk.err);
			nanosleep(&ts, NULL);	/* the engine is busy or down */
			continue;
		}
		pthread_mutex_lock(&pool_lock);
		if (pool_stop || privd.stopping || pools[want].n >= target) {
			pthread_mutex_unlock(&pool_lock);
			sandbox_remove(&dk, id);
			continue;
		}
		memcpy(pools[want].ids[pools[want].n++].id, id, sizeof(id));
		pthread_mutex_unlock(&pool_lock);
	}
	dk_close(&dk);
	return NULL;
}

void
pool_init(void)
{
	const struct policy *p = privd.policy;
	pthread_attr_t attr;
	pthread_t t;
	int l;

	target = p->pool;
	if (target == 0)
		return;
	for (l = 0; l < LANG_COUNT; l++)
		if (p->langs[l].enabled)
			pools[p->langs[l].image].used = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, filler, NULL) != 0)
		fatal("pool_init: pthread_create");
	pthread_attr_destroy(&attr);
}

int
pool_take(int image, char *id)
{
	int r = -1;

	if (target == 0 || image < 0 || image >= POLICY_IMAGES_MAX)
		return -1;
	pthread_mutex_lock(&pool_lock);
	if (pools[image].n > 0) {
		/* oldest first: it has waited longest */
		memcpy(id, pools[image].ids[0].id, DK_ID_LEN + 1);
		memmove(&pools[image].ids[0], &pools[image].ids[1],
		    (pools[image].n - 1) * sizeof(pools[image].ids[0]));
		pools[image].n--;
		r = 0;
	}
	pthread_cond_signal(&pool_wake);
	pthread_mutex_unlock(&pool_lock);
	return r;
}

void
pool_sizes(uint32_t *ready, uint32_t *capacity)
{
	size_t i;

	*ready = *capacity = 0;
	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < POLICY_IMAGES_MAX; i++) {
		if (!pools[i].used)
			continue;
		*ready += (uint32_t)pools[i].n;
		*capacity += target;
	}
	pthread_mutex_unlock(&pool_lock);
}

void
pool_stop_filling(void)
{
	pthread_mutex_lock(&pool_lock);
	pool_stop = 1;
	pthread_cond_broadcast(&pool_wake);
	pthread_mutex_unlock(&pool_lock);
}
