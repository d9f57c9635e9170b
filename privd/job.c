/*
 * A job: one execution as the monitor received it (privd.h). The monitor
 * builds it answer by answer and hands it to run.c; whoever holds it last
 * frees it here, a leaf both call.
 */
#include <stdlib.h>
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
