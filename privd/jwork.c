/*
 * The stages of one execution under policy isolation jail (run.h): a
 * worker (wpool.c, or the session's, session.c), then the job over its
 * live channel (worker.c): the inputs and code as frames from the memfds
 * frontd sent, the agent's output and archive into the run's memfds as
 * they come, its EXIT into the answer, which is the same EXEC_DONE as a
 * container's, so frontd reads both alike. privd parses none of the bytes
 * the job wrote. Calls down only: nothing here calls run.c.
 */
#include "run.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "dkhttp.h"
#include "jstop.h"
#include "log.h"
#include "ptcrelay.h"
#include "session.h"
#include "util.h"
#include "worker.h"
#include "wpool.h"

/* privd's KILL this long after the job's timeout; the worker given up after */
#define KILL_MARGIN_MS	2000
#define KILL_GRACE_MS	5000
/* a channel ended with its worker: the engine lists the stop within this */
#define STOP_GRACE_MS	2000

/* the end-of-archive blocks: an empty archive frontd walks */
static const unsigned char empty_tar[1024];

int
jail_acquire(struct run *r)
{
	const struct job *j = r->job;
	const struct policy *p = j->policy;
	int image = p->langs[j->lang].image, t;

	if (j->session[0] != '\0' && r->w == NULL && !r->retried) {
		t = session_take_worker(j->session, p, image, r->cid, r->stat0,
		    &r->w);
		r->session_held = t == 0 || t == -1;
		r->reused = t == 0 && r->w != NULL;
		if (t == 0 && r->w == NULL) {
			/* kept as a container, not a worker: not this run's */
			session_drop(j->session);
			r->session_held = 0;
		}
	}
	if (!r->reused) {
		/* a session's worker is one that never ran a job */
		if ((r->w = wpool_take(p, image, r->session_held)) != NULL)
			r->pooled = 1;
		else if ((r->w = wpool_make(&r->dk, p, image,
		    r->session_held)) == NULL)
			return -1;
	}
	memcpy(r->cid, r->w->cid, sizeof(r->cid));
	r->have_container = 1;
	sandbox_use(r->cid, 1);
	return 0;
}

/* r's worker out: removed, the run's sandbox with it */
static void
worker_gone(struct run *r)
{
	sandbox_use(r->cid, 0);
	wpool_discard(&r->dk, r->w);
	r->w = NULL;
	r->have_container = 0;
}

/*
 * The job never went out on a pooled or kept worker (its channel ended:
 * a new sockproxy, the engine back): that worker removed, and once more
 * on a fresh one (a session's starts anew and frontd is told so). 1 when
 * it does, 0 when this is no such case, -1 when no worker came.
 */
static int
fresh_worker(struct run *r, const char *why)
{
	if ((!r->pooled && !r->reused) || r->retried)
		return 0;
	r->retried = 1;
	log_warnx("run %u: %s worker %.12s is stale (%s): a fresh one",
	    r->job->id, r->pooled ? "pooled" : "the session's", r->cid, why);
	dkh_peer_bump("a worker was stale");	/* its peers may be too */
	worker_gone(r);
	r->pooled = r->rec.pooled = 0;
	r->reused = 0;
	return jail_acquire(r) == 0 ? 1 : -1;
}

/* the job ended cleanly: the answer from its EXIT, output and archive */
static int
answer_of(struct run *r, int killed)
{
	const struct job *j = r->job;
	struct ipc_exec_done *d = &r->done;

	chan_done(&r->w->ch, j, d);
	if (killed) {
		/* privd's KILL at the timeout: the agent's own did not come */
		d->kill = IPC_KILL_TIME;
		d->limit = j->timeout_ms;
		r->doubt = 1;
	} else if (r->w->cancelled) {
		/*
		 * Ended by frontd's cancel or at token-ttl: no limit killed it.
		 * It took privd's KILL: the worker is not handed out again.
		 */
		d->kill = IPC_KILL_NONE;
		d->exit_code = -1;
		r->doubt = 1;
	} else if (d->kill == IPC_KILL_NONE && d->exit_code == 128 + SIGKILL) {
		/* a SIGKILL neither sent: the OOM killer, as program.c reads it */
		d->kill = IPC_KILL_MEMORY;
		d->limit = j->policy->memory;
	}
	r->outlen = r->w->ch.outlen;
	r->tarlen = r->w->ch.tarlen;
	/*
	 * The archive holds what the job created or changed and the kept
	 * list; none at all: an empty one when inputs went in or a session
	 * goes on (frontd marks the inputs it does not list as deleted),
	 * else the work directory is as the job found it.
	 */
	if (r->tarlen == 0 && (j->nrecv > 0 || r->session_held)) {
		if (cw_write_all(r->tarfd, empty_tar, sizeof(empty_tar)) != 0) {
			snprintf(r->dk.err, sizeof(r->dk.err), "the archive memfd");
			return -1;
		}
		r->tarlen = sizeof(empty_tar);
	}
	if (r->tarlen > 0)
		d->fds |= IPC_DONE_ARCHIVE;
	else
		d->flags |= IPC_DF_UNCHANGED;
	d->fds |= IPC_DONE_OUTPUT;
	d->output_len = r->outlen;
	d->archive_len = r->tarlen;
	d->status = IPC_ST_OK;
	return 0;
}

int
jail_exec(struct run *r)
{
	const struct job *j = r->job;
	struct ipc_exec_done *d = &r->done;
	const char *why = NULL;
	enum worker_state ws;
	struct dk_watch *watch;
	enum worker_end end;
	uint64_t waits = 0;
	uint32_t flags = r->session_held ? FRAME_JOB_SESSION : 0;
	long status;
	int f;

	if (j->opts & IPC_OPT_PTC) {
		/* a programmatic job's waits for its tools: at most this */
		flags = FRAME_JOB_PTC;
		waits = (uint64_t)j->policy->ptc_round_trips *
		    (j->policy->ptc_token_ttl_ms + WORKER_PTC_GRACE_MS);
		if (ptc_relay_open(j->id) != 0) {
			snprintf(r->dk.err, sizeof(r->dk.err), "no relay for "
			    "another programmatic run");
			return -1;
		}
	}
	watch = jail_watch(&r->dk, j->policy, r->cid, j->timeout_ms +
	    KILL_MARGIN_MS + KILL_GRACE_MS + waits);
	end = worker_job(r->w, j, flags, r->outfd, r->tarfd, KILL_MARGIN_MS,
	    KILL_GRACE_MS, &why);
	if (flags & FRAME_JOB_PTC)
		ptc_relay_close(j->id);
	status = jail_watch_end(&r->dk, watch, r->cid, end == WORKER_LOST &&
	    !privd.killed_all && r->w->ch.why == NULL);
	if (end == WORKER_DONE || end == WORKER_DONE_KILLED)
		return answer_of(r, end == WORKER_DONE_KILLED);
	r->doubt = 1;
	if (privd.killed_all)
		return PROGRAM_SHUTDOWN;	/* the shutdown's kill ended it */
	if (end == WORKER_NOT_SENT) {
		if ((f = fresh_worker(r, why)) != 0)
			return f > 0 ? JAIL_AGAIN : -1;
		snprintf(r->dk.err, sizeof(r->dk.err), "worker %.12s: %s", r->cid,
		    why != NULL ? why : "the job could not go out");
		return -1;
	}
	log_warnx("run %u: worker %.12s: %s", j->id, r->cid,
	    why != NULL ? why : "-");
	if (r->w->ch.why != NULL) {
		/* a violation: the worker's own answer is not to be trusted */
		snprintf(r->dk.err, sizeof(r->dk.err), "worker %.12s broke the "
		    "channel: %s", r->cid, r->w->ch.why);
		return -1;
	}
	/*
	 * The channel ended: with its worker only when the engine lists the
	 * worker stopped. Unreachable (sockproxy gone), the worker removed (a
	 * restarted sockproxy's sweep) or still running (the channel's path
	 * ended, not the sandbox): an engine failure, as a container's exec
	 * whose status cannot be read.
	 * A status the watch read (jstop.c) is the worker's end already.
	 */
	if (end == WORKER_LOST && status < 0 &&
	    (ws = worker_state(&r->dk, r->cid,
	    STOP_GRACE_MS)) != WORKER_EXITED) {
		char e[sizeof(r->dk.err)];

		snprintf(e, sizeof(e), "%s", r->dk.err);
		snprintf(r->dk.err, sizeof(r->dk.err), "worker %.12s: %.60s; %s%.100s",
		    r->cid, why != NULL ? why : "the channel ended",
		    ws == WORKER_RUNNING ? "the worker still runs" :
		    ws == WORKER_GONE ? "the worker was removed" :
		    "the engine did not answer: ", ws == WORKER_UNKNOWN ? e : "");
		return -1;
	}
	/*
	 * The worker stopped under the program, or the agent did not answer
	 * privd's KILL: the worker is removed and what the job wrote is lost
	 * (frontd says so), as when a sandbox stops under its program.
	 */
	r->stopped = 1;
	if (end == WORKER_HUNG) {
		d->kill = IPC_KILL_TIME;
		d->limit = j->timeout_ms;
	} else {
		jail_stop_kill(status, j->policy->memory, d);
	}
	d->exit_code = -1;
	r->outlen = r->w->ch.outlen;
	d->fds |= IPC_DONE_OUTPUT;
	d->output_len = r->outlen;
	d->status = IPC_ST_OK;
	return 0;
}

void
jail_return(struct run *r)
{
	const struct ipc_exec_done *d = &r->done;

	if (r->w == NULL || r->w->session || d->status != IPC_ST_OK ||
	    r->doubt || r->stopped || d->session == IPC_SESS_NEW_KEPT ||
	    d->session == IPC_SESS_REUSED_KEPT)
		return;
	sandbox_use(r->cid, 0);
	if (wpool_put_kept(r->w))
		r->w = NULL;		/* jail_release has nothing to put */
}

void
jail_release(struct run *r)
{
	const struct ipc_exec_done *d = &r->done;
	const struct job *j = r->job;
	const struct policy *p = j->policy;
	struct worker *w = r->w;

	if (w != NULL && (d->session == IPC_SESS_NEW_KEPT ||
	    d->session == IPC_SESS_REUSED_KEPT)) {
		sandbox_use(r->cid, 0);	/* kept idle: a resync may judge it */
		if (session_keep_worker(j->session, p, p->langs[j->lang].image,
		    r->cid, "", w) == 0)
			return;
	}
	if (r->session_held)
		session_drop(j->session);
	if (w == NULL)
		return;
	sandbox_use(r->cid, 0);
	if (w->session)
		wpool_discard(&r->dk, w);
	else
		wpool_put(&r->dk, w, d->status == IPC_ST_OK && !r->doubt &&
		    !r->stopped);
	r->w = NULL;
}
