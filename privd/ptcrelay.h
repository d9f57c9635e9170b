/*
 * A programmatic run's relay, privd's side (issue 17): the line its
 * program wrote on fd 3 goes to frontd as PTC_LINE, unparsed, and the run
 * thread waits for frontd's PTC_REPLY (the line for fd 4) or EXEC_CANCEL,
 * which the monitor hands over here by the execution's id. privd never
 * looks into either line: sandboxed code wrote the one, the client the
 * other; frontd checks both.
 */
#ifndef CW_PRIVD_PTCRELAY_H
#define CW_PRIVD_PTCRELAY_H

#include <pthread.h>
#include <stdint.h>

/* main.c: frontd's socketpair and the lock its senders share */
void	ptc_relay_init(int sock, pthread_mutex_t *send_lock);
/* id's relay for the length of its job; 0, or -1 when all are in use */
int	ptc_relay_open(uint32_t id);
/* its end: a reply nobody took is closed */
void	ptc_relay_close(uint32_t id);
/* 1 once frontd cancelled id */
int	ptc_relay_cancelled(uint32_t id);
/*
 * The sealed line (linefd, len bytes) to frontd, then the wait for its
 * answer, at most wait_ms: the reply's sealed memfd (*rlen bytes; the
 * caller closes it), or -1: cancelled, no answer in time, or frontd gone.
 */
int	ptc_relay_line(uint32_t id, int linefd, uint64_t len, uint64_t wait_ms,
	    uint64_t *rlen);
/* monitor.c: frontd's reply (fd taken: closed when no run waits for it) */
void	ptc_relay_reply(uint32_t id, int fd, uint64_t len);
/* run.c: privd stops; every relay ends, and none waits from now on */
void	ptc_relay_cancel_all(void);
/* monitor.c: frontd's cancel; an id that is no open relay's is ignored */
void	ptc_relay_cancel(uint32_t id);

#endif
