/*
 * HEALTH and METRICS, answered off the monitor's thread: each asks
 * sockproxy (a list, its refusal counters) in a thread of its own, and
 * METRICS adds privd's own counters (record.c, queue.c, sandbox.c,
 * resync.c, pool.c). A leaf of the monitor: nothing here calls back into
 * monitor.c or run.c.
 */
#include "health.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool.h"
#include "privd.h"
#include "queue.h"
#include "record.h"
#include "util.h"
#include "wpool.h"

/*
 * HEALTH and METRICS ask sockproxy, and whoever may send them (frontd, for
 * callers without a credential) must not take the sockproxy connections
 * runs need: one of each is out at a time, and one that comes meanwhile is
 * answered at once from the last answer sockproxy gave. frontd shares its
 * answers among its callers (frontd/health.c), so this is the bound for a
 * frontd that does not.
 */
static struct {
	pthread_mutex_t	lock;
	int		health_out, metrics_out;
	int		health_ok;		/* sockproxy's last answers */
	int		proxy_up;
	uint64_t	refusals[IPC_REFUSALS];
	uint32_t	health_checks;
} single = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* what a single-request answering thread is given */
struct health_arg {
	uint32_t	id;
};

static void
single_send(const void *rep, size_t len, const char *what)
{
	pthread_mutex_lock(&privd.send_lock);
	if (ipc_send(privd.sock, rep, len, NULL, 0) != 0)
		log_warn("%s: send", what);
	pthread_mutex_unlock(&privd.send_lock);
}

static void
health_answer(uint32_t id, int ok)
{
	struct ipc_health_reply rep;

	memset(&rep, 0, sizeof(rep));
	ipc_hdr_init(&rep.hdr, IPC_HEALTH_REPLY, sizeof(rep), id);
	rep.ok = ok && !privd.stopping;
	single_send(&rep, sizeof(rep), "health");
}

static void *
health_thread(void *arg)
{
	struct health_arg *h = arg;
	struct dk dk;
	char ids[1][DK_ID_LEN + 1];
	int ok = 0;

	if (dk_open(&dk, privd.sockproxy) == 0) {
		ok = dk_list(&dk, ids, NULL, 1) >= 0;
		if (!ok)
			log_warnx("health: %s", dk.err);
		dk_close(&dk);
	}
	pthread_mutex_lock(&single.lock);
	single.health_ok = ok;
	single.health_out = 0;
	pthread_mutex_unlock(&single.lock);
	health_answer(h->id, ok);
	free(h);
	return NULL;
}

/* a detached thread that answers one single request (HEALTH, METRICS) */
static void
answer_in_thread(void *(*fn)(void *), uint32_t id, const char *what)
{
	struct health_arg *h = malloc(sizeof(*h));

	if (h == NULL)
		fatalx("%s: out of memory", what);
	h->id = id;
	if (cw_thread_spawn(NULL, fn, h, 128 * 1024) != 0)
		fatal("%s: pthread_create", what);
}

void
health_reply(uint32_t id)
{
	int out, ok;

	pthread_mutex_lock(&single.lock);
	if (!(out = single.health_out)) {
		single.health_out = 1;
		single.health_checks++;
	}
	ok = single.health_ok;
	pthread_mutex_unlock(&single.lock);
	if (out)
		health_answer(id, ok);
	else
		answer_in_thread(health_thread, id, "health_reply");
}

/* privd's own part of a METRICS_REPLY, and sockproxy's last counters */
static void
metrics_fill(struct ipc_metrics_reply *rep, uint32_t id)
{
	memset(rep, 0, sizeof(*rep));
	ipc_hdr_init(&rep->hdr, IPC_METRICS_REPLY, sizeof(*rep), id);
	record_fill(rep);
	pthread_mutex_lock(&privd.lock);
	rep->running = privd.running;
	pthread_mutex_unlock(&privd.lock);
	queue_fill(rep);
	rep->live = sandbox_count();
	rep->resyncs = resync_count();
	if (__atomic_load_n(&privd.policy, __ATOMIC_ACQUIRE)->isolation ==
	    ISOLATION_JAIL)
		wpool_sizes(&rep->pool_ready, &rep->pool_target);
	else
		pool_sizes(&rep->pool_ready, &rep->pool_target);
	pthread_mutex_lock(&single.lock);
	rep->proxy_up = single.proxy_up;
	if (rep->proxy_up)
		memcpy(rep->refusals, single.refusals, sizeof(rep->refusals));
	rep->health_checks = single.health_checks;
	pthread_mutex_unlock(&single.lock);
}

static void *
metrics_thread(void *arg)
{
	struct health_arg *h = arg;
	struct ipc_metrics_reply rep;
	uint64_t refusals[IPC_REFUSALS];
	struct dk dk;
	int up = 0;

	memset(refusals, 0, sizeof(refusals));
	if (dk_open(&dk, privd.sockproxy) == 0) {
		if (dk_stats(&dk, refusals) == 0)
			up = 1;
		else
			log_warnx("metrics: %s", dk.err);
		dk_close(&dk);
	}
	pthread_mutex_lock(&single.lock);
	single.proxy_up = up;
	memcpy(single.refusals, refusals, sizeof(refusals));
	single.metrics_out = 0;
	pthread_mutex_unlock(&single.lock);
	metrics_fill(&rep, h->id);
	single_send(&rep, sizeof(rep), "metrics");
	free(h);
	return NULL;
}

void
metrics_reply(uint32_t id)
{
	struct ipc_metrics_reply rep;
	int out;

	pthread_mutex_lock(&single.lock);
	if (!(out = single.metrics_out))
		single.metrics_out = 1;
	pthread_mutex_unlock(&single.lock);
	if (!out) {
		answer_in_thread(metrics_thread, id, "metrics_reply");
		return;
	}
	metrics_fill(&rep, id);
	single_send(&rep, sizeof(rep), "metrics");
}
