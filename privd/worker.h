/*
 * A worker (policy isolation jail): a started sandbox container and the
 * live channel to its agent, opened through sockproxy (the agent's exec,
 * POST /containers/{id}/channel?jail=1, then its hijacked start, POST
 * /exec/{id}/channel), and one job at a time over it (chan.c's frames):
 * its output and archive into the run's memfds, privd's KILL when the
 * agent's own kill at the timeout does not come, the worker given up when
 * even that is not answered. Calls down only (chan.c, dkhttp.c, docker.c).
 */
#ifndef CW_PRIVD_WORKER_H
#define CW_PRIVD_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "dkhttp.h"
#include "docker.h"
#include "ipc.h"

struct worker {
	char		cid[DK_ID_LEN + 1];
	int		fd;		/* the channel, or -1 */
	struct chan	ch;
	const struct policy *policy;	/* the one it was made under */
	int		image;
	uint32_t	jobs;		/* jobs sent to it */
	uint64_t	born_ms;
	uint64_t	idle_ms;	/* back in the pool since (wpool.c) */
	int		session;	/* serves one session: every job flagged */
	uint32_t	ptc_id;		/* the programmatic job's run id, or 0 */
	int		cancelled;	/* that job was ended: cancel or token-ttl */
	int		retiring;	/* wpool.c: near its end, its successor made */
};
/* privd waits for a programmatic job's tool results token-ttl and this */
#define WORKER_PTC_GRACE_MS	5000

/*
 * 0 with the socket in *fd and what came with the 101 in left (DKH_HEAD_MAX
 * bytes), *nleft of them: the agent's first frames, for chan_feed; or -1
 * with d->err.
 */
int	worker_chan_open(struct dk *d, const char *cid, int jail,
	    uint64_t deadline_ms, int *fd, char *left, size_t *nleft);
/*
 * w->cid started: its channel opened (a jail per job) and the agent's
 * hello read by deadline_ms: 0, or -1 with d->err (w->fd is -1 then).
 */
int	worker_open(struct dk *d, struct worker *w, uint64_t deadline_ms);
/* the channel closed, w freed; the container is the caller's to remove */
void	worker_close(struct worker *w);

/* how one job on a worker ended */
enum worker_end {
	WORKER_DONE,		/* EXIT and READY came: the worker may serve again */
	WORKER_DONE_KILLED,	/* so, after privd's KILL at timeout + margin */
	WORKER_LOST,		/* the channel ended or broke mid-job (why) */
	WORKER_HUNG,		/* no EXIT even after the KILL: given up */
	WORKER_NOT_SENT,	/* the job could not go out: nothing ran */
};
/*
 * job on w, flags in its JOB frame, the agent's output into outfd and its
 * archive into tarfd; the agent kills at job->timeout_ms, privd sends KILL
 * kill_ms after that and gives up grace_ms after the KILL, or when the
 * agent is silent for grace_ms before its READY. *why says what went
 * wrong, if anything.
 */
enum worker_end worker_job(struct worker *w, const struct job *job,
	    uint32_t flags, int outfd, int tarfd, uint64_t kill_ms,
	    uint64_t grace_ms, const char **why);

/*
 * A channel that ended mid-job (WORKER_LOST) ended either with its worker
 * (the sandbox stopped under the program) or on the engine's side of it
 * (sockproxy gone or new): the engine's list of its containers tells.
 */
enum worker_state {
	WORKER_EXITED,		/* listed stopped: it ended under its job */
	WORKER_GONE,		/* not in a whole list: removed (a sweep after
				 * sockproxy's restart, or by hand) */
	WORKER_RUNNING,		/* still runs: the channel's path ended */
	WORKER_UNKNOWN,		/* no list, or a full one without it */
};
#define WORKER_LIST_MAX	512	/* sockproxy tracks at most this many */
/* pure: cid's state in a list of n ids (running[k]: not stopped), of at most max */
enum worker_state worker_state_in(const char *cid,
	    char ids[][DK_ID_LEN + 1], const int *running, int n, int max);
/*
 * cid's state by the engine's list (GET /containers/json), asked again
 * while it runs for up to grace_ms (a stop is listed a moment late);
 * d->err when unknown.
 */
enum worker_state worker_state(struct dk *d, const char *cid,
	    uint64_t grace_ms);

#endif
