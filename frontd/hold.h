/*
 * frontd's half of custody (common/ipc.h, "Custody"; privd/custody.c): a
 * request read whole is handed to privd as a copy of its connection's
 * socket, and each step of its answer is told before its bytes can leave,
 * so that privd can answer it if frontd dies first.
 */
#ifndef CW_HOLD_H
#define CW_HOLD_H

#include <microhttpd.h>
#include <stdint.h>

/* one request's custody, used by one thread at a time */
struct hold {
	uint32_t	id;		/* 0: privd holds nothing */
	uint32_t	state;		/* the last told (enum ipc_conn_step) */
};

/* privd holds conn's socket now (h->id 0 when privd is gone) */
void	hold_take(struct hold *h, struct MHD_Connection *conn,
	    const char *version);
/*
 * The answer moves on to state (IPC_CONN_SPACES or IPC_CONN_RESPONDING):
 * told once, forward only, spaces only before anything else.
 */
void	hold_mark(struct hold *h, uint32_t state);
/* the request is done: privd lets its copy go */
void	hold_drop(struct hold *h);

#endif
