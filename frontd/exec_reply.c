/*
 * What privd's refusals of an execution become in HTTP (429 with the
 * admission queue's Retry-After, 400, 413, 503), and an error answer that
 * goes out inside a 200 because it came after EXEC_HOLD_MS (http.c).
 */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * When to come back after a 429 from the admission queue: the policy's
 * queue-wait, or a run's default time if shorter (a slot frees by then), in
 * whole seconds, at least one; with no queue (queue 0), one second.
 */
static unsigned int
retry_after_s(const struct policy *pol)
{
	uint32_t ms;

	if (pol->queue == 0)
		return 1;
	ms = pol->queue_wait_ms < pol->time_default_ms ?
	    pol->queue_wait_ms : pol->time_default_ms;
	return ms < 1000 ? 1 : (ms + 999) / 1000;
}

void
exec_refusal(const struct policy *pol, const struct ipc_exec_done *d,
    struct reply *r)
{
	switch (d->status) {
	case IPC_ST_BUSY:
		reply_rate_limited(r, retry_after_s(pol), "%s", d->message);
		break;
	case IPC_ST_REFUSED:
		reply_error(r, 400, "refused", "%s", d->message);
		break;
	case IPC_ST_TOO_LARGE:
		reply_error(r, 413, "too_large", "%s", d->message);
		break;
	default:
		reply_error(r, 503, "unavailable", "%s", d->message);
		break;
	}
}

