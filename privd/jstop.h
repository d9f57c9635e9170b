/*
 * Why a worker (policy isolation jail) ended under its job: the engine's
 * exit status of the worker's container, read as program.c reads a
 * container that stopped under its program. Calls down only (docker.c).
 */
#ifndef CW_PRIVD_JSTOP_H
#define CW_PRIVD_JSTOP_H

#include <stdint.h>

#include "docker.h"
#include "ipc.h"
#include "policy.h"

/* how long the container is given to be seen stopping after its channel ended */
#define JSTOP_GRACE_MS	2000

/*
 * A watch on worker cid for a job of at most ms, under policy p's runsc
 * only (NULL otherwise, or when none could start): gVisor's whole worker
 * dies at its memory limit, and sockproxy removes it (its exec wrote to
 * stderr) before the channel's end reaches privd, so the stop is caught
 * while the job runs. Under runc the kernel kills the program in its jail
 * and the agent's EXIT says so.
 */
struct dk_watch *jail_watch(struct dk *dk, const struct policy *p,
	    const char *cid, uint64_t ms);
/*
 * The job over: w ended (NULL: none). lost (its channel ended mid-job):
 * the container is given JSTOP_GRACE_MS to be seen stopping, by a watch
 * started now when there was none. Its exit status, or -1 when it was not
 * seen stopping.
 */
long	jail_watch_end(struct dk *dk, struct dk_watch *w, const char *cid,
	    int lost);
/*
 * d's kill and limit for a worker lost mid-job, from its container's exit
 * status: killed (137) when privd sent nothing, the kernel's out-of-memory
 * killer took the worker's init or, under gVisor, its whole user-space
 * kernel at the cgroup's limit: IPC_KILL_MEMORY with the policy's memory;
 * any other status, or none (-1): IPC_KILL_SANDBOX with the status (255
 * when none).
 */
void	jail_stop_kill(long status, uint64_t memory, struct ipc_exec_done *d);

#endif
