/*
 * Admission: which execution runs now, which waits, which is refused. Runs
 * over the policy's total or per-user wait in a bounded queue, served
 * round-robin between the users who wait and in order within one user; a
 * slot that frees goes to a waiter before any newcomer sees it. Pure: no
 * locks, no clock, no allocation (two fixed tables sized by the policy's
 * ceilings). run.c holds privd.lock around every call and does the waiting.
 */
#ifndef CW_ADMIT_H
#define CW_ADMIT_H

#include <stdint.h>

#include "ipc.h"
#include "policy.h"

_Static_assert(IPC_QUEUE_MAX == POLICY_QUEUE_CEIL, "the queue's ceiling, twice");

/* a granted waiter keeps its entry until its thread collects it */
#define ADMIT_QUEUE_MAX		(2 * POLICY_QUEUE_CEIL)
/* users with a run (at most total) or a waiter (at most queue) */
#define ADMIT_USERS_MAX		(POLICY_CONC_CEIL + POLICY_QUEUE_CEIL)

enum admit_result { ADMIT_RUN, ADMIT_WAIT, ADMIT_FULL };
enum admit_state { ADMIT_FREE, ADMIT_WAITING, ADMIT_GRANTED, ADMIT_REFUSED };
/* why a waiter was refused, or a newcomer at once */
enum admit_refusal {
	ADMIT_REF_FULL,		/* the queue was full (or queue 0) */
	ADMIT_REF_TIMEOUT,	/* queue-wait passed without a slot */
	ADMIT_REF_SHRUNK,	/* a reload made the queue shorter */
	ADMIT_REF_STOP,		/* privd is stopping */
	ADMIT_REFUSALS
};

struct admit_user {
	char		name[IPC_USER_MAX];
	uint32_t	running, waiting;
};

struct admit_waiter {
	enum admit_state state;
	uint32_t	user;		/* index into users[] */
	uint32_t	refusal;	/* ADMIT_REFUSED: why */
	uint64_t	seq;		/* arrival order */
	uint64_t	since_ms;
};

struct admit {
	uint32_t	total, per_user, queue;	/* the limits in force */
	uint32_t	running, waiting;
	uint32_t	rr;		/* the user served last */
	int		closed;
	uint64_t	seq;
	/* what /metrics shows */
	uint64_t	waits, wait_ms, refused[ADMIT_REFUSALS];
	struct admit_user	users[ADMIT_USERS_MAX];
	struct admit_waiter	q[ADMIT_QUEUE_MAX];
};

void	admit_init(struct admit *a, uint32_t total, uint32_t per_user,
	    uint32_t queue);
/*
 * New limits (a reload): waiters a larger limit lets run are granted; the
 * newest waiters beyond a shorter queue are refused (ADMIT_REF_SHRUNK).
 */
void	admit_limits(struct admit *a, uint32_t total, uint32_t per_user,
	    uint32_t queue);
/*
 * An execution of user arrives: ADMIT_RUN (it holds a slot), ADMIT_WAIT
 * (*ticket is its queue entry: wait, then admit_collect), or ADMIT_FULL.
 */
enum admit_result admit_enter(struct admit *a, const char *user,
	    uint64_t now_ms, int *ticket);
enum admit_state admit_state(const struct admit *a, int ticket);
/*
 * The waiter's wait is over (its state is not WAITING, or it gives up):
 * its entry is freed. 1 when it holds a slot (run, then admit_release);
 * 0 when refused, with the reason in *why.
 */
int	admit_collect(struct admit *a, int ticket, uint64_t now_ms,
	    enum admit_refusal *why);
/* a run that held a slot was answered: the slot goes to the next waiter */
void	admit_release(struct admit *a, const char *user);
/* stopping: every waiter refused (ADMIT_REF_STOP), every newcomer too */
void	admit_close(struct admit *a);

#endif
