#include "admit.h"

#include <stdio.h>
#include <string.h>

void
admit_init(struct admit *a, uint32_t total, uint32_t per_user, uint32_t queue)
{
	memset(a, 0, sizeof(*a));
	a->total = total;
	a->per_user = per_user;
	a->queue = queue > POLICY_QUEUE_CEIL ? POLICY_QUEUE_CEIL : queue;
}

static uint32_t
user_find(const struct admit *a, const char *name)
{
	uint32_t i;

	for (i = 0; i < ADMIT_USERS_MAX; i++) {
		const struct admit_user *u = &a->users[i];

		if ((u->running > 0 || u->waiting > 0) &&
		    strcmp(u->name, name) == 0)
			return i;
	}
	return ADMIT_USERS_MAX;
}

static uint32_t
user_add(struct admit *a, const char *name)
{
	uint32_t i;

	for (i = 0; i < ADMIT_USERS_MAX; i++) {
		struct admit_user *u = &a->users[i];

		if (u->running == 0 && u->waiting == 0) {
			snprintf(u->name, sizeof(u->name), "%s", name);
			return i;
		}
	}
	return ADMIT_USERS_MAX;
}

/* the oldest waiter of user u */
static int
oldest(const struct admit *a, uint32_t u)
{
	int i, best = -1;

	for (i = 0; i < ADMIT_QUEUE_MAX; i++) {
		const struct admit_waiter *w = &a->q[i];

		if (w->state == ADMIT_WAITING && w->user == u &&
		    (best < 0 || w->seq < a->q[best].seq))
			best = i;
	}
	return best;
}

/*
 * Free slots to waiters: each turn goes to the next user after the one
 * served last who waits and is under per-user, and to that user's oldest
 * waiter. Afterwards no waiter could run while a slot is free, which is
 * what lets admit_enter hand a newcomer a free slot without looking at
 * the queue of others.
 */
static void
dispatch(struct admit *a)
{
	uint32_t k, u;
	int w;

	while (a->running < a->total && a->waiting > 0) {
		for (k = 1; k <= ADMIT_USERS_MAX; k++) {
			u = (a->rr + k) % ADMIT_USERS_MAX;
			if (a->users[u].waiting > 0 &&
			    a->users[u].running < a->per_user)
				break;
		}
		if (k > ADMIT_USERS_MAX || (w = oldest(a, u)) < 0)
			return;
		a->q[w].state = ADMIT_GRANTED;
		a->users[u].waiting--;
		a->users[u].running++;
		a->waiting--;
		a->running++;
		a->rr = u;
	}
}

static void
refuse(struct admit *a, int w, enum admit_refusal why)
{
	a->q[w].state = ADMIT_REFUSED;
	a->q[w].refusal = why;
	a->users[a->q[w].user].waiting--;
	a->waiting--;
}

void
admit_limits(struct admit *a, uint32_t total, uint32_t per_user, uint32_t queue)
{
	a->total = total;
	a->per_user = per_user;
	a->queue = queue > POLICY_QUEUE_CEIL ? POLICY_QUEUE_CEIL : queue;
	dispatch(a);
	while (a->waiting > a->queue) {
		int i, newest = -1;

		for (i = 0; i < ADMIT_QUEUE_MAX; i++)
			if (a->q[i].state == ADMIT_WAITING &&
			    (newest < 0 || a->q[i].seq > a->q[newest].seq))
				newest = i;
		refuse(a, newest, ADMIT_REF_SHRUNK);
	}
}

enum admit_result
admit_enter(struct admit *a, const char *user, uint64_t now_ms, int *ticket)
{
	uint32_t u;
	int i;

	*ticket = -1;
	if (a->closed)
		return ADMIT_FULL;
	if ((u = user_find(a, user)) == ADMIT_USERS_MAX &&
	    (u = user_add(a, user)) == ADMIT_USERS_MAX)
		goto full;
	/* the user's own waiters go first: they are in order */
	if (a->running < a->total && a->users[u].running < a->per_user &&
	    a->users[u].waiting == 0) {
		a->users[u].running++;
		a->running++;
		return ADMIT_RUN;
	}
	if (a->waiting >= a->queue)
		goto full;
	for (i = 0; i < ADMIT_QUEUE_MAX; i++)
		if (a->q[i].state == ADMIT_FREE)
			break;
	if (i == ADMIT_QUEUE_MAX)
		goto full;
	a->q[i].state = ADMIT_WAITING;
	a->q[i].user = u;
	a->q[i].seq = ++a->seq;
	a->q[i].since_ms = now_ms;
	a->users[u].waiting++;
	a->waiting++;
	*ticket = i;
	return ADMIT_WAIT;
full:
	a->refused[ADMIT_REF_FULL]++;
	return ADMIT_FULL;
}

enum admit_state
admit_state(const struct admit *a, int ticket)
{
	if (ticket < 0 || ticket >= ADMIT_QUEUE_MAX)
		return ADMIT_FREE;
	return a->q[ticket].state;
}

int
admit_collect(struct admit *a, int ticket, uint64_t now_ms,
    enum admit_refusal *why)
{
	struct admit_waiter *w = &a->q[ticket];
	int granted;

	if (w->state == ADMIT_WAITING)
		refuse(a, ticket, ADMIT_REF_TIMEOUT);
	granted = w->state == ADMIT_GRANTED;
	*why = (enum admit_refusal)w->refusal;
	if (!granted)
		a->refused[w->refusal]++;
	a->waits++;
	a->wait_ms += now_ms > w->since_ms ? now_ms - w->since_ms : 0;
	memset(w, 0, sizeof(*w));
	return granted;
}

void
admit_release(struct admit *a, const char *user)
{
	uint32_t u = user_find(a, user);

	if (u == ADMIT_USERS_MAX || a->users[u].running == 0 || a->running == 0)
		return;		/* never: a release without its admission */
	a->users[u].running--;
	a->running--;
	dispatch(a);
}

void
admit_close(struct admit *a)
{
	int i;

	a->closed = 1;
	for (i = 0; i < ADMIT_QUEUE_MAX; i++)
		if (a->q[i].state == ADMIT_WAITING)
			refuse(a, i, ADMIT_REF_STOP);
}
