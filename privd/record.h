/*
 * What privd records of its work: one audit line per execution (admitted or
 * refused at EXEC_RUN) and the counters frontd's GET /metrics shows. Both
 * come from the same call at the end of each execution, so the metrics and
 * the audit trail cannot disagree. compose/README.md ("The audit trail")
 * documents the line.
 */
#ifndef CW_RECORD_H
#define CW_RECORD_H

#include <stdint.h>

#include "ipc.h"
#include "privd.h"

/* what one execution did beyond its EXEC_DONE */
struct record_run {
	const char	*container;	/* its sandbox's id, NULL when none */
	int		pooled;		/* taken from the warm pool */
	int		waited;		/* got as far as asking for a sandbox */
	uint64_t	wait_us;	/* admission to a started sandbox */
	uint64_t	bytes_in;	/* code and inputs copied in; 0 if not */
};

/* the audit line and the counters of one execution; d is what frontd got */
void	record_exec(const struct job *j, const struct ipc_exec_done *d,
	    const struct record_run *rr);
void	record_created(void);
void	record_removed(void);
void	record_swept(void);
/* privd's counters, into a METRICS_REPLY (gauges and sockproxy's aside) */
void	record_fill(struct ipc_metrics_reply *m);
/* the outcome label of an EXEC_DONE */
unsigned int record_outcome(const struct ipc_exec_done *d);

#endif
