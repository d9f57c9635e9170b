/*
 * A worker's channel opened through sockproxy (issue 15; not yet used by
 * run.c): the agent's exec (POST /containers/{id}/channel, ?jail=1 for a
 * jail per job), then its hijacked start (POST /exec/{id}/channel). The
 * socket then carries the channel's frames both ways (chan.c).
 */
#ifndef CW_PRIVD_WORKER_H
#define CW_PRIVD_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "dkhttp.h"
#include "docker.h"

/*
 * 0 with the socket in *fd and what came with the 101 in left (DKH_HEAD_MAX
 * bytes), *nleft of them: the agent's first frames, for chan_feed; or -1
 * with d->err.
 */
int	worker_chan_open(struct dk *d, const char *cid, int jail,
	    uint64_t deadline_ms, int *fd, char *left, size_t *nleft);

#endif
