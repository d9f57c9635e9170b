/*
 * The live list: every sandbox privd has created and not yet removed (those
 * running a program, waiting in the pool, kept by a session), so that a
 * shutdown can remove each one. sandbox_create() and sandbox_remove() are
 * the only ways in and out; run, pool and session all go through them.
 */
#include "privd.h"

#include <string.h>

#include "docker.h"
#include "log.h"
#include "record.h"

static char live[SANDBOX_LIVE_MAX][DK_ID_LEN + 1];

static void
live_add(const char *id)
{
	size_t i;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < SANDBOX_LIVE_MAX; i++) {
		if (live[i][0] == '\0') {
			memcpy(live[i], id, DK_ID_LEN + 1);
			break;
		}
	}
	pthread_mutex_unlock(&privd.lock);
	if (i == SANDBOX_LIVE_MAX)
		log_warnx("live_add: no slot for sandbox %.12s: a shutdown will "
		    "not remove it (the start-up sweep will)", id);
}

static void
live_del(const char *id)
{
	size_t i;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < SANDBOX_LIVE_MAX; i++)
		if (strcmp(live[i], id) == 0)
			live[i][0] = '\0';
	pthread_mutex_unlock(&privd.lock);
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

void
sandbox_remove(struct dk *dk, const char *id)
{
	if (dk_remove(dk, id) < 0) {
		log_warnx("sandbox_remove %.12s: %s", id, dk->err);
	} else {
		live_del(id);
		record_removed();
	}
}

uint32_t
sandbox_count(void)
{
	uint32_t i, n = 0;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < SANDBOX_LIVE_MAX; i++)
		n += live[i][0] != '\0';
	pthread_mutex_unlock(&privd.lock);
	return n;
}

size_t
sandbox_list(char ids[][DK_ID_LEN + 1])
{
	size_t i, n = 0;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < SANDBOX_LIVE_MAX; i++)
		if (live[i][0] != '\0')
			memcpy(ids[n++], live[i], DK_ID_LEN + 1);
	pthread_mutex_unlock(&privd.lock);
	return n;
}
