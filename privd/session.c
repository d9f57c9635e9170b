/*
 * Stateful sessions (policy 'sessions'): the calls of one session key reuse
 * one sandbox, so its /mnt/data persists between calls (LibreChat's
 * "filesystem-tier" statefulness). Each call still starts with a fresh
 * process tree and an empty /tmp: reset.c runs a fixed script of
 * privd's in the sandbox after every call, before it can be taken again. A
 * kept sandbox is in the live list like any other; an idle one is removed
 * after 'session-idle', and the least recently used idle one when a new
 * session needs its slot. A kept sandbox serves only runs admitted under
 * the policy it was made under: after a reload its session's next call
 * starts a fresh sandbox, and an idle one of an older policy is removed.
 */
#include "session.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "privd.h"
#include "util.h"
#include "worker.h"

#define SESSION_WAIT_S	5	/* a call waits this long for its busy session */

struct session {
	char		key[IPC_SESSION_LEN + 1];	/* "" when free */
	char		cid[DK_ID_LEN + 1];
	const struct policy *policy;	/* the one cid was made under */
	int		image;
	int		busy;
	uint64_t	idle_since;		/* ms */
	char		stat[DKH_STAT_MAX];
	struct worker	*w;		/* isolation jail: cid's channel, or NULL */
};

/* a session's sandbox on its way out of the table */
struct gone {
	char		cid[DK_ID_LEN + 1];
	struct worker	*w;
};

static struct session	table[POLICY_SESSIONS_CEIL];
static pthread_mutex_t	ses_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	ses_wake = PTHREAD_COND_INITIALIZER;
static pthread_t	expiry_thread;
static int		expiry_running, ses_stop;

/* the Docker side: sandbox_docker, or a unit test's */
static const struct sandbox_ops *ops = &sandbox_docker;

void
session_use_ops(const struct sandbox_ops *o)
{
	ops = o;
}

/* a worker's channel closed, then its container removed (none: "") */
static void
remove_gone(struct dk *dk, const struct gone *g)
{
	worker_close(g->w);
	if (g->cid[0] != '\0')
		ops->remove(dk, g->cid);
}

/*
 * One idle session past p's session-idle at now, or kept under a policy
 * other than p, out of the table: 1 with its sandbox in gone. The caller
 * holds ses_lock.
 */
static int
expired_locked(const struct policy *p, uint64_t now, struct gone *gone)
{
	size_t i;

	for (i = 0; i < POLICY_SESSIONS_CEIL; i++) {
		struct session *s = &table[i];

		if (s->key[0] != '\0' && !s->busy &&
		    (now - s->idle_since >= p->session_idle_ms ||
		    s->policy != p)) {
			memcpy(gone->cid, s->cid, DK_ID_LEN + 1);
			gone->w = s->w;
			memset(s, 0, sizeof(*s));
			return 1;
		}
	}
	return 0;
}

int
session_expire(struct dk *dk, const struct policy *p, uint64_t now)
{
	struct gone gone;
	int r;

	pthread_mutex_lock(&ses_lock);
	r = expired_locked(p, now, &gone);
	pthread_mutex_unlock(&ses_lock);
	if (r)
		remove_gone(dk, &gone);
	return r;
}

static void *
expiry(void *arg)
{
	struct dk dk;

	(void)arg;
	dk_open(&dk, privd.sockproxy);
	pthread_mutex_lock(&ses_lock);
	while (!ses_stop) {
		const struct policy *p = __atomic_load_n(&privd.policy,
		    __ATOMIC_ACQUIRE);
		struct timespec ts;
		struct gone gone;

		if (expired_locked(p, cw_now_ms(), &gone)) {
			pthread_mutex_unlock(&ses_lock);
			remove_gone(&dk, &gone);
			pthread_mutex_lock(&ses_lock);
			continue;
		}
		cw_abstime_ms(&ts, 1000);
		pthread_cond_timedwait(&ses_wake, &ses_lock, &ts);
	}
	pthread_mutex_unlock(&ses_lock);
	dk_close(&dk);
	return NULL;
}

void
session_init(void)
{
	if (privd.policy->sessions == 0 || expiry_running)
		return;
	if (cw_thread_spawn(&expiry_thread, expiry, NULL, 128 * 1024) != 0)
		fatal("session_init: pthread_create");
	expiry_running = 1;
}

void
session_reload(void)
{
	session_init();
	pthread_mutex_lock(&ses_lock);
	pthread_cond_broadcast(&ses_wake);
	pthread_mutex_unlock(&ses_lock);
}

void
session_stop(void)
{
	pthread_mutex_lock(&ses_lock);
	ses_stop = 1;
	pthread_cond_broadcast(&ses_wake);
	pthread_mutex_unlock(&ses_lock);
	if (expiry_running)
		pthread_join(expiry_thread, NULL);
	expiry_running = 0;
}

static struct session *
find(const char *key)
{
	size_t i;

	for (i = 0; i < POLICY_SESSIONS_CEIL; i++)
		if (strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

/* a free slot, else the idle session used longest ago; NULL when all are busy */
static struct session *
slot(const struct policy *p, struct gone *evict)
{
	struct session *lru = NULL;
	size_t i;

	for (i = 0; i < p->sessions; i++) {
		if (table[i].key[0] == '\0')
			return &table[i];
		if (!table[i].busy &&
		    (lru == NULL || table[i].idle_since < lru->idle_since))
			lru = &table[i];
	}
	if (lru != NULL) {
		memcpy(evict->cid, lru->cid, DK_ID_LEN + 1);
		evict->w = lru->w;
	}
	return lru;
}

static void
remove_now(const struct gone *g)
{
	struct dk dk;

	if (g->cid[0] == '\0' && g->w == NULL)
		return;
	dk_open(&dk, privd.sockproxy);
	remove_gone(&dk, g);
	dk_close(&dk);
}

int
session_take(const char *key, const struct policy *p, int image, char *cid,
    char *stat)
{
	return session_take_worker(key, p, image, cid, stat, NULL);
}

int
session_take_worker(const char *key, const struct policy *p, int image,
    char *cid, char *stat, struct worker **w)
{
	struct session *s;
	struct gone evict = { "", NULL };
	struct timespec ts;
	int r;

	cw_abstime_ms(&ts, SESSION_WAIT_S * 1000);
	pthread_mutex_lock(&ses_lock);
	/* the session's last call may still be resetting: wait for it a while */
	while ((s = find(key)) != NULL && s->busy && !ses_stop)
		if (pthread_cond_timedwait(&ses_wake, &ses_lock, &ts) != 0)
			break;
	if (ses_stop || (s != NULL && s->busy)) {
		r = -2;		/* busy: a fresh sandbox, kept by nobody */
	} else if (s != NULL && s->policy == p && s->image == image &&
	    s->cid[0] != '\0') {
		s->busy = 1;
		memcpy(cid, s->cid, DK_ID_LEN + 1);
		memcpy(stat, s->stat, DKH_STAT_MAX);
		if (w != NULL)
			*w = s->w;
		r = 0;
	} else {
		/*
		 * a new session (or one on another image, or kept under
		 * another policy): reserve its slot
		 */
		if (s != NULL) {
			memcpy(evict.cid, s->cid, sizeof(evict.cid));
			evict.w = s->w;
		} else if ((s = slot(p, &evict)) == NULL) {
			r = -2;
			goto out;
		}
		memset(s, 0, sizeof(*s));
		memcpy(s->key, key, IPC_SESSION_LEN + 1);
		s->image = image;
		s->busy = 1;
		r = -1;
	}
out:
	pthread_mutex_unlock(&ses_lock);
	remove_now(&evict);
	return r;
}

int
session_keep(const char *key, const struct policy *p, int image,
    const char *cid, const char *stat)
{
	return session_keep_worker(key, p, image, cid, stat, NULL);
}

int
session_keep_worker(const char *key, const struct policy *p, int image,
    const char *cid, const char *stat, struct worker *w)
{
	struct session *s;
	int r = -1;

	pthread_mutex_lock(&ses_lock);
	if (!ses_stop && (s = find(key)) != NULL && s->busy) {
		memcpy(s->cid, cid, DK_ID_LEN + 1);
		snprintf(s->stat, sizeof(s->stat), "%s", stat);
		s->policy = p;
		s->image = image;
		s->idle_since = cw_now_ms();
		s->w = w;
		s->busy = 0;
		r = 0;
	}
	pthread_cond_broadcast(&ses_wake);
	pthread_mutex_unlock(&ses_lock);
	return r;
}

void
session_drop(const char *key)
{
	struct session *s;

	pthread_mutex_lock(&ses_lock);
	if ((s = find(key)) != NULL)
		memset(s, 0, sizeof(*s));
	pthread_cond_broadcast(&ses_wake);
	pthread_mutex_unlock(&ses_lock);
}
