/*
 * The live channel (issue 15): the one exec per worker whose stdin is
 * attached, the agent's (jail/agent.c), started hijacked. Once the daemon
 * answered 101, sockproxy relays both ways and checks every frame
 * (common/frame.h) with one grammar for the two directions: privd's frames
 * before a byte of them is written up; the agent's out of Docker's
 * multiplexed stream, where stdout carries its frames and any stderr byte is
 * a violation. Towards privd every frame header is one sockproxy wrote
 * itself; a payload passes as opaque bytes. A violation closes the channel,
 * is logged and counted, and when the agent broke it the worker is removed.
 */
#ifndef CW_SP_CHAN_H
#define CW_SP_CHAN_H

#include "conn.h"
#include "upstream.h"

#define SP_AGENT_PATH		"/usr/local/bin/codeward-agent"
#define SP_AGENT_JAIL_FLAG	"-j"	/* then -t BYTES -s BYTES -f FILES */
#define SP_CHAN_WRITE_MS	30000	/* the agent takes privd's bytes within this */
#define SP_CHAN_RUN_MS_EXTRA	60000	/* a job's EXIT: its timeout plus this */

/*
 * The exec argv of the agent: without the jail flag, or with it and the
 * jail's sizes from p (-t tmp-size, -s shm-size, -f tmp-files, in decimal;
 * written into sz, which e points into).
 */
struct sp_chan_sizes {
	char	tmp[24], shm[24], files[16];
};
void	sp_chan_exec(struct sp_exec *e, int jail, const struct policy *p,
	    struct sp_chan_sizes *sz);

/*
 * Relay the hijacked stream up (the 101 read, its leftover bytes in up's
 * buffer) and the client connection until either side ends or breaks the
 * grammar. cid: the worker, image: its policy image. 0 when it ended
 * cleanly, -1 on a violation by privd, -2 by the agent.
 */
int	sp_chan_relay(struct sp_conn *c, struct sp_up *up, const char *cid,
	    int image);

#endif
