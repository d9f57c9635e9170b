/*
 * frontd's side of the IPC: mirrored request wrappers (privd_req_exec ⇄
 * privd's answer_exec_*, privd_req_health ⇄ answer_health,
 * privd_req_metrics ⇄ answer_metrics). Each HTTP thread
 * sends its request sequence under one lock and waits for the answer with its
 * id; a reader thread receives privd's answers, checks them with ipc_check()
 * and hands each to its waiter. If privd breaks the protocol, frontd exits;
 * if privd goes away, every request waiting on it is answered first (its
 * wrapper returns failure, privsep_gone() says why), 'lost' is called with
 * the seconds the HTTP side has to send those answers, and frontd exits:
 * the supervisor restarts the pair.
 */
#ifndef CW_PRIVSEP_H
#define CW_PRIVSEP_H

#include <stdint.h>

#include "ipc.h"

struct privd_input {
	const char	*name;		/* relative path in /mnt/data */
	int		fd;		/* read-only */
	uint64_t	size;
};

struct privd_result {
	struct ipc_exec_done	done;
	int			output_fd;	/* -1 when absent */
	int			archive_fd;	/* -1 when absent */
};

void	privsep_init(int sock, void (*lost)(unsigned int));
/* 1 once privd has gone: every request to it fails at once */
int	privsep_gone(void);
/*
 * Run one execution. 'begin' is filled by the caller except its header.
 * Returns 0 with *res filled (the caller closes its fds), or -1 when privd
 * did not answer within wait_ms.
 */
int	privd_req_exec(struct ipc_exec_begin *begin, int code_fd,
	    const struct privd_input *in, size_t nin, struct privd_result *res,
	    uint32_t wait_ms);
/*
 * A programmatic run (IPC_OPT_PTC in begin->opts): its sequence sent, no
 * wait; its id (0: privd gone or no slot). Between two requests no thread
 * waits on it: its next word stays until privd_ptc_next takes it.
 */
uint32_t privd_ptc_start(struct ipc_exec_begin *begin, int code_fd,
	    const struct privd_input *in, size_t nin);
/*
 * The run's next word within wait_ms: 1, a tool line (*linefd, a sealed
 * memfd of *len bytes, the caller's); 0, its end (*res, as
 * privd_req_exec's, the run forgotten); -1, none (privd gone, or not yet).
 */
int	privd_ptc_next(uint32_t id, uint32_t wait_ms, int *linefd,
	    uint64_t *len, struct privd_result *res);
/* the results line for the program's fd 4 (fd: sealed, len bytes) */
int	privd_ptc_reply(uint32_t id, int fd, uint64_t len);
/* end the run (its EXEC_DONE still comes) */
void	privd_ptc_cancel(uint32_t id);
/* end it and forget it: what privd still sends for it is dropped */
void	privd_ptc_drop(uint32_t id);
/*
 * A message privd does not answer (frontd/hold.c's custody messages), sent
 * whole between two request sequences: 0, or -1 once privd has gone.
 */
int	privsep_notify(const void *msg, size_t len, const int *fds, size_t nfds);
/* 1 when privd says a run would succeed, 0 otherwise */
int	privd_req_health(uint32_t wait_ms);
/* privd's counters: 0, or -1 when privd did not answer within wait_ms */
int	privd_req_metrics(struct ipc_metrics_reply *out, uint32_t wait_ms);

#endif
