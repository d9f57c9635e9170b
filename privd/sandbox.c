/*
 * The live list: every sandbox privd has created and not yet removed (those
 * running a program, waiting in the pool, kept by a session), so that a
 * shutdown can remove each one. sandbox_create() and sandbox_remove() are
 * the only ways in and out; run, pool and session all go through them. A
 * resync (resync.c) may also drop an id sockproxy no longer knows.
 *
 * A removal sockproxy answers 404 found the sandbox already gone: it leaves
 * the list. One that fails otherwise (the engine down: 502) stays in the
 * list and goes to the retry list, tried again with backoff until it is
 * removed or gone: never forgotten.
 */
#include "privd.h"

#include <string.h>

#include "docker.h"
#include "log.h"
#include "record.h"
#include "util.h"
#include "worker.h"

#define RETRY_FIRST_MS	500
#define RETRY_LAST_MS	30000
#define RETRY_MAX	(SANDBOX_LIVE_MAX + 64)	/* + privd's start-up leftovers */

static struct live {
	char	id[DK_ID_LEN + 1];
	int	used;		/* a run works in it now */
} live[SANDBOX_LIVE_MAX];

static struct retry {
	char		id[DK_ID_LEN + 1];
	uint64_t	due_ms, wait_ms;
} retry[RETRY_MAX];

/* the caller holds privd.lock */
static struct live *
live_find(const char *id)
{
	size_t i;

	for (i = 0; i < SANDBOX_LIVE_MAX; i++)
		if (strcmp(live[i].id, id) == 0)
			return &live[i];
	return NULL;
}

static void
live_add(const char *id)
{
	struct live *l;

	pthread_mutex_lock(&privd.lock);
	if ((l = live_find("")) != NULL) {
		memcpy(l->id, id, DK_ID_LEN + 1);
		l->used = 0;
	}
	pthread_mutex_unlock(&privd.lock);
	if (l == NULL)
		log_warnx("live_add: no slot for sandbox %.12s: a shutdown will "
		    "not remove it (the start-up sweep will)", id);
}

/* 1 when id was in the list */
static int
live_del(const char *id)
{
	struct live *l;

	pthread_mutex_lock(&privd.lock);
	if ((l = live_find(id)) != NULL)
		memset(l, 0, sizeof(*l));
	pthread_mutex_unlock(&privd.lock);
	return l != NULL;
}

/* create and start a fresh sandbox of p's image 'image'; it joins the live list */
int
sandbox_create(struct dk *dk, const struct policy *p, int image,
    int prewarm_py, char *id)
{
	if (dk_create(dk, p, p->images[image].ref, prewarm_py, id) < 0)
		return -1;
	record_created();
	live_add(id);
	if (dk_start(dk, id) < 0) {
		char err[sizeof(dk->err)];

		memcpy(err, dk->err, sizeof(err));
		sandbox_remove(dk, id);
		memcpy(dk->err, err, sizeof(err));
		return -1;
	}
	return 0;
}

/* removed, or sockproxy no longer knows it: 0; else -1 (dk->err) */
static int
remove_one(struct dk *dk, const char *id)
{
	if (dk_remove(dk, id) < 0 && dk->status != 404)
		return -1;
	if (live_del(id))
		record_removed();
	return 0;
}

/* the caller holds privd.lock; a run that gave id up no longer uses it */
static void
retry_add_locked(const char *id)
{
	struct live *l;
	size_t i, free_slot = RETRY_MAX;

	if ((l = live_find(id)) != NULL)
		l->used = 0;	/* a resync removes it too if it stopped */
	for (i = 0; i < RETRY_MAX; i++) {
		if (strcmp(retry[i].id, id) == 0)
			return;
		if (retry[i].id[0] == '\0' && free_slot == RETRY_MAX)
			free_slot = i;
	}
	if (free_slot == RETRY_MAX) {
		log_warnx("sandbox_retry: list full: %.12s left to the next "
		    "start-up sweep", id);
		return;
	}
	memcpy(retry[free_slot].id, id, DK_ID_LEN + 1);
	retry[free_slot].wait_ms = RETRY_FIRST_MS;
	retry[free_slot].due_ms = cw_now_ms() + RETRY_FIRST_MS;
}

void
sandbox_remove(struct dk *dk, const char *id)
{
	if (remove_one(dk, id) == 0)
		return;
	log_warnx("sandbox_remove %.12s: %s: retried", id, dk->err);
	pthread_mutex_lock(&privd.lock);
	retry_add_locked(id);
	pthread_mutex_unlock(&privd.lock);
}

void
sandbox_retry_add(const char *id)
{
	pthread_mutex_lock(&privd.lock);
	retry_add_locked(id);
	pthread_mutex_unlock(&privd.lock);
}

uint64_t
sandbox_retry(struct dk *dk)
{
	char id[DK_ID_LEN + 1];
	uint64_t next = UINT64_MAX;
	size_t i;

	for (i = 0; i < RETRY_MAX; i++) {
		int ok;

		pthread_mutex_lock(&privd.lock);
		if (retry[i].id[0] == '\0' || retry[i].due_ms > cw_now_ms()) {
			if (retry[i].id[0] != '\0' && retry[i].due_ms < next)
				next = retry[i].due_ms;
			pthread_mutex_unlock(&privd.lock);
			continue;
		}
		memcpy(id, retry[i].id, sizeof(id));
		pthread_mutex_unlock(&privd.lock);
		ok = remove_one(dk, id) == 0;
		pthread_mutex_lock(&privd.lock);
		if (ok) {
			memset(&retry[i], 0, sizeof(retry[i]));
		} else {
			retry[i].wait_ms = retry[i].wait_ms * 2 > RETRY_LAST_MS ?
			    RETRY_LAST_MS : retry[i].wait_ms * 2;
			retry[i].due_ms = cw_now_ms() + retry[i].wait_ms;
			if (retry[i].due_ms < next)
				next = retry[i].due_ms;
		}
		pthread_mutex_unlock(&privd.lock);
		if (ok)
			log_info("sandbox_retry: %.12s removed, or already gone", id);
		else
			log_warnx("sandbox_retry %.12s: %s", id, dk->err);
	}
	return next;
}

size_t
sandbox_retry_count(void)
{
	size_t i, n = 0;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < RETRY_MAX; i++)
		n += retry[i].id[0] != '\0';
	pthread_mutex_unlock(&privd.lock);
	return n;
}

void
sandbox_use(const char *id, int used)
{
	struct live *l;

	pthread_mutex_lock(&privd.lock);
	if ((l = live_find(id)) != NULL)
		l->used = used;
	pthread_mutex_unlock(&privd.lock);
}

int
sandbox_used(const char *id)
{
	struct live *l;
	int used;

	pthread_mutex_lock(&privd.lock);
	used = (l = live_find(id)) != NULL && l->used;
	pthread_mutex_unlock(&privd.lock);
	return used;
}

int
sandbox_forget(const char *id)
{
	if (!live_del(id))
		return 0;
	record_removed();
	return 1;
}

uint32_t
sandbox_count(void)
{
	uint32_t i, n = 0;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < SANDBOX_LIVE_MAX; i++)
		n += live[i].id[0] != '\0';
	pthread_mutex_unlock(&privd.lock);
	return n;
}

size_t
sandbox_list(char ids[][DK_ID_LEN + 1])
{
	size_t i, n = 0;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < SANDBOX_LIVE_MAX; i++)
		if (live[i].id[0] != '\0')
			memcpy(ids[n++], live[i].id, DK_ID_LEN + 1);
	pthread_mutex_unlock(&privd.lock);
	return n;
}

const struct sandbox_ops sandbox_docker = {
	.create = sandbox_create,
	.stat = dk_stat_workdir,
	.remove = sandbox_remove,
	.open = worker_open,
};
