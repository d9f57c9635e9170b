/*
 * A job: one execution as the monitor received it (privd.h). The monitor
 * builds it answer by answer and hands it to run.c; whoever holds it last
 * frees it here, a leaf both call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privd.h"

void
job_free(struct job *j)
{
	uint32_t i;

	if (j == NULL)
		return;
	if (j->code_fd >= 0)
		close(j->code_fd);
	for (i = 0; i < j->nrecv; i++)
		if (j->files[i].fd >= 0)
			close(j->files[i].fd);
	free(j);
}

void
job_done_init(const struct job *j, struct ipc_exec_done *d)
{
	memset(d, 0, sizeof(*d));
	ipc_hdr_init(&d->hdr, IPC_EXEC_DONE, sizeof(*d), j->id);
	d->exit_code = -1;
	snprintf(d->policy, sizeof(d->policy), "%s", j->policy->id);
}

void
job_done_kill(const struct job *j, struct ipc_exec_done *d, enum ipc_kill kill)
{
	d->kill = kill;
	d->limit = kill == IPC_KILL_TIME ? j->timeout_ms :
	    kill == IPC_KILL_OUTPUT ? j->policy->stdout_max : 0;
}
