/*
 * A worker's live channel, privd's side (issue 15; not yet used by run.c):
 * a job's frames out (JOB, FILE and DATA from the input memfds frontd
 * sent, CODE, RUN) and the agent's frames in, as sockproxy rewrote them.
 * privd checks their headers and grammar (common/frame.c) and never looks
 * into a payload: STDOUT and STDERR pieces go to the output memfd behind
 * Docker's 8-byte stream headers that privd writes itself (what frontd
 * reads today), ARCHIVE pieces to the archive memfd, EXIT into the
 * answer. Pure over descriptors it is given: no Docker, no threads.
 */
#ifndef CW_PRIVD_CHAN_H
#define CW_PRIVD_CHAN_H

#include <stdint.h>

#include "frame.h"
#include "ipc.h"
#include "privd.h"

struct chan {
	struct frame_chan fc;		/* both directions' grammar */
	struct frame_rd	up;		/* the agent's frames */
	int		outfd, tarfd;	/* the open job's, or -1 */
	uint64_t	outlen, tarlen;
	int		hello;		/* the agent's first READY came */
	int		exited;		/* the open job's EXIT came */
	int		ready;		/* a READY since the last job: one may go */
	struct frame_exit exit;
	/* a programmatic job's open TOOL line: a memfd, its bytes, those due */
	int		toolfd;
	uint64_t	toollen, toolleft;
	int		tool_done;	/* the line is whole: chan_tool_take() */
	const char	*why;		/* the violation or failure */
};

void	chan_init(struct chan *c, const struct frame_caps *caps);
/*
 * The job's frames to fd (of inputs of one name, the last), its output
 * going to outfd and tarfd: 0, or -1
 * with c->why (a write failed, or the job breaks the channel's caps).
 */
int	chan_send_job(struct chan *c, int fd, const struct frame_job *fj,
	    const struct job *job, int outfd, int tarfd);
/* the agent's bytes as they arrive: 0, or -1 with c->why */
int	chan_feed(struct chan *c, const unsigned char *p, size_t n);
/*
 * A whole TOOL line (tool_done): its memfd, sealed, *len bytes (the caller
 * closes it); -1 with c->why when it cannot be sealed.
 */
int	chan_tool_take(struct chan *c, uint64_t *len);
/* the line in the memfd src (len bytes, 0: fd 4 closed) as one RESULT */
int	chan_send_result(struct chan *c, int fd, int src, uint64_t len);
/*
 * The open job's EXIT into the answer's kill, limit, exit_code and the
 * two lengths, the limits named as program.c names them.
 */
void	chan_done(const struct chan *c, const struct job *job,
	    struct ipc_exec_done *d);

#endif
