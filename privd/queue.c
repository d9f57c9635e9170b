/*
 * Admission as privd's threads see it: admit.c's queue under privd.lock, a
 * queued run's thread asleep on admit_cond until it holds a slot, its wait
 * is over, or privd stops. The monitor thread never waits: run_admit only
 * takes a slot or a place.
 */
#include "queue.h"

#include <pthread.h>
#include <stdio.h>

#include "admit.h"
#include "log.h"
#include "util.h"

/* a waiter looks at the policy (a reload) and at privd.stopping this often */
#define ADMIT_SLICE_MS	500

/* the admission queue, under privd.lock; waiters sleep on admit_cond */
static struct admit	admit;
static int		admit_ready;
static pthread_cond_t	admit_cond = PTHREAD_COND_INITIALIZER;

/* the policy in force and privd.stopping into the queue; with privd.lock held */
static void
admit_sync(void)
{
	const struct policy *p = __atomic_load_n(&privd.policy, __ATOMIC_ACQUIRE);

	if (!admit_ready) {
		admit_init(&admit, p->conc_total, p->conc_per_user, p->queue);
		admit_ready = 1;
	} else if (admit.total != p->conc_total ||
	    admit.per_user != p->conc_per_user || admit.queue != p->queue) {
		admit_limits(&admit, p->conc_total, p->conc_per_user, p->queue);
		pthread_cond_broadcast(&admit_cond);
	}
	if (privd.stopping && !admit.closed) {
		admit_close(&admit);
		pthread_cond_broadcast(&admit_cond);
	}
	privd.running = admit.running;
}

int
run_admit(struct job *j)
{
	enum admit_result a;

	pthread_mutex_lock(&privd.lock);
	admit_sync();
	a = admit_enter(&admit, j->user, cw_now_ms(), &j->admit_ticket);
	privd.running = admit.running;
	pthread_mutex_unlock(&privd.lock);
	return a == ADMIT_FULL ? -1 : 0;
}

/*
 * A queued run waits for its slot, at most the policy's queue-wait: 0 when
 * it holds one; else -1 and its refusal in d (busy; unavailable when privd
 * stops).
 */
int
queue_wait(struct job *j, struct ipc_exec_done *d)
{
	const struct policy *p = __atomic_load_n(&privd.policy, __ATOMIC_ACQUIRE);
	uint64_t t0 = cw_now_ms(), deadline = t0 + p->queue_wait_ms, now;
	enum admit_refusal why;
	struct timespec ts;
	int granted;

	pthread_mutex_lock(&privd.lock);
	for (;;) {
		/* a reload or a stop since the last look reaches the queue here */
		admit_sync();
		now = cw_now_ms();
		if (admit_state(&admit, j->admit_ticket) != ADMIT_WAITING ||
		    now >= deadline)
			break;
		cw_abstime_ms(&ts, deadline - now < ADMIT_SLICE_MS ?
		    deadline - now : ADMIT_SLICE_MS);
		(void)pthread_cond_timedwait(&admit_cond, &privd.lock, &ts);
	}
	granted = admit_collect(&admit, j->admit_ticket, now, &why);
	privd.running = admit.running;
	pthread_mutex_unlock(&privd.lock);
	j->admit_ticket = -1;
	if (granted)
		return 0;
	d->status = why == ADMIT_REF_STOP ? IPC_ST_UNAVAILABLE : IPC_ST_BUSY;
	snprintf(d->message, sizeof(d->message), "%s", why == ADMIT_REF_STOP ?
	    "codeward is shutting down: the run waited in the queue and did not start" :
	    why == ADMIT_REF_SHRUNK ? "too many executions at once: a reload "
	    "shortened the queue this run waited in" :
	    "too many executions at once: no slot within the queue's wait");
	log_info("run %u: refused after %llums in the queue", j->id,
	    (unsigned long long)(now - t0));
	return -1;
}

/* a run that will not wait leaves the queue: 1 when it holds a slot */
int
queue_leave(struct job *j)
{
	enum admit_refusal why;
	int held = 1;

	pthread_mutex_lock(&privd.lock);
	if (j->admit_ticket >= 0)
		held = admit_collect(&admit, j->admit_ticket, cw_now_ms(), &why);
	j->admit_ticket = -1;
	privd.running = admit.running;
	pthread_mutex_unlock(&privd.lock);
	return held;
}

void
queue_release(const char *user)
{
	pthread_mutex_lock(&privd.lock);
	admit_release(&admit, user);
	admit_sync();
	pthread_cond_broadcast(&admit_cond);
	pthread_mutex_unlock(&privd.lock);
}

/* the queue's counters, for a METRICS_REPLY */
void
queue_fill(struct ipc_metrics_reply *rep)
{
	pthread_mutex_lock(&privd.lock);
	rep->queue_len = admit.waiting;
	rep->queue_max = admit.queue;
	rep->queue_waits = admit.waits;
	rep->queue_wait_ms = admit.wait_ms;
	rep->queue_refused[IPC_QUEUE_FULL] = admit.refused[ADMIT_REF_FULL];
	rep->queue_refused[IPC_QUEUE_TIMEOUT] = admit.refused[ADMIT_REF_TIMEOUT];
	rep->queue_refused[IPC_QUEUE_STOP] = admit.refused[ADMIT_REF_SHRUNK] +
	    admit.refused[ADMIT_REF_STOP];
	pthread_mutex_unlock(&privd.lock);
}

