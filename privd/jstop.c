/*
 * A worker's end under its job, told by its container's exit status
 * (jstop.h). The channel's end says only that the agent is gone; the
 * engine's wait on the container says why: the same answer a container
 * per execution gets from program.c's watch, so a memory bomb reads as a
 * memory kill under both isolations, gVisor's whole-sandbox stop included.
 */
#include "jstop.h"

#include <signal.h>

#include "log.h"

struct dk_watch *
jail_watch(struct dk *dk, const struct policy *p, const char *cid, uint64_t ms)
{
	struct dk_watch *w;

	if (p->runtime != RUNTIME_RUNSC)
		return NULL;
	if ((w = dk_watch_start(dk, cid, (long)ms + JSTOP_GRACE_MS)) == NULL)
		log_warnx("jail_watch: none on worker %.12s: a memory kill that "
		    "ends it reads as a stopped sandbox", cid);
	return w;
}

long
jail_watch_end(struct dk *dk, struct dk_watch *w, const char *cid, int lost)
{
	long status = -1;

	if (w == NULL && lost)
		w = dk_watch_start(dk, cid, JSTOP_GRACE_MS + 1000);
	if (!dk_watch_end(w, lost ? JSTOP_GRACE_MS : 0, &status))
		return -1;
	if (lost)
		log_info("worker %.12s: its container stopped (status %ld)", cid,
		    status);
	return status;
}

void
jail_stop_kill(long status, uint64_t memory, struct ipc_exec_done *d)
{
	if (status == 128 + SIGKILL) {
		d->kill = IPC_KILL_MEMORY;
		d->limit = memory;
	} else {
		d->kill = IPC_KILL_SANDBOX;
		d->limit = status >= 0 && status <= 255 ? (uint64_t)status : 255;
	}
}
