/*
 * privd's admission queue (queue.c over admit.c): run_admit (privd.h) takes
 * a slot or a place in the queue; the run's thread waits for its slot with
 * queue_wait and gives it back with queue_release once answered.
 */
#ifndef CW_QUEUE_H
#define CW_QUEUE_H

#include "ipc.h"
#include "privd.h"

/*
 * A queued run waits for its slot, at most the policy's queue-wait: 0 when
 * it holds one; else -1 with its refusal in d (busy; unavailable when
 * privd stops).
 */
int	queue_wait(struct job *j, struct ipc_exec_done *d);
/* a run that will not wait leaves the queue: 1 when it holds a slot */
int	queue_leave(struct job *j);
/* a run that held a slot was answered: the slot goes to the next waiter */
void	queue_release(const char *user);
/* the queue's gauge and counters, into a METRICS_REPLY */
void	queue_fill(struct ipc_metrics_reply *rep);

#endif
