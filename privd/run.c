/*
 * One execution, in its own thread, as stages over one struct run (run.h):
 * prepare, acquire a started sandbox (the session's, a pooled one or a new
 * one), put the code and inputs in, exec the language's runner under the
 * deadline, collect the raw output stream and the raw tar of the work
 * directory, answer frontd, release the sandbox (kept for its session, or
 * removed). run_thread() is the driver and calls them in that order.
 * privd parses none of the bytes the sandbox produced: the output and the
 * archive are copied into memfds and handed on as they are; frontd (the
 * sandboxed side) parses them. The work directory in and out is
 * workdir.c's, the program under its limits program.c's, the list of live
 * sandboxes sandbox.c's, the pool and the sessions pool.c's and
 * session.c's: each is called from here and calls nothing back. Under
 * policy isolation jail, acquire takes a worker instead (wpool.c) and put,
 * exec and collect are one job over its live channel (jwork.c).
 */
#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "reset.h"
#include "log.h"
#include "ptcrelay.h"
#include "pool.h"
#include "session.h"
#include "util.h"
#include "wpool.h"

/* the reset after a session's call, before its next call may take it */
#define RESET_MS	10000

static void
worker_done(void)
{
	pthread_mutex_lock(&privd.lock);
	privd.workers--;
	pthread_cond_broadcast(&privd.idle);
	pthread_mutex_unlock(&privd.lock);
}

void
answer_done(const struct ipc_exec_done *d, const int *fds, size_t nfds)
{
	int r;

	pthread_mutex_lock(&privd.send_lock);
	r = ipc_send(privd.sock, d, sizeof(*d), fds, nfds);
	pthread_mutex_unlock(&privd.send_lock);
	if (r != 0 && !privd.stopping)
		log_warn("answer_done: send to frontd");
}

/* the message privd hands on must stay within [ -~] */
static void
set_message(struct ipc_exec_done *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_message(struct ipc_exec_done *d, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
	for (i = 0; d->message[i] != '\0'; i++)
		if (d->message[i] < 0x20 || d->message[i] > 0x7e)
			d->message[i] = '?';
	memset(d->message + i, 0, sizeof(d->message) - i);
}

/* an execution that ends before it gets a sandbox: answered, recorded */
static void
answer_error(struct job *j, uint32_t status, const char *why)
{
	struct ipc_exec_done d;

	job_done_init(j, &d);
	d.status = status;
	set_message(&d, "%s", why);
	record_exec(j, &d, &(struct record_run){ 0 });
	answer_done(&d, NULL, 0);
}

void
run_refuse(struct job *j, struct ipc_exec_done *d)
{
	record_exec(j, d, &(struct record_run){ 0 });
	answer_done(d, NULL, 0);
	job_free(j);
}

/*
 * The stages, in the order run_thread() calls them. Each fills its fields
 * of r; one that ends the run sets r->done's status and message and
 * returns -1 (the answer follows), STAGE_AGAIN asks for put and exec once
 * more in a fresh sandbox.
 */
#define STAGE_AGAIN	1

/* a call to the sandbox failed (r->dk.err): the run ends UNAVAILABLE */
static int
sandbox_failed(struct run *r)
{
	struct ipc_exec_done *d = &r->done;

	log_warnx("run %u: %s", r->job->id, r->dk.err);
	d->status = IPC_ST_UNAVAILABLE;
	set_message(d, "sandbox failed: %s", r->dk.err);
	d->kill = IPC_KILL_NONE;
	return -1;
}

/* prepare: a Docker client, and the code and inputs ready to go in */
static int
stage_prepare(struct run *r)
{
	char why[IPC_MESSAGE_MAX];

	if (dk_open(&r->dk, privd.sockproxy) < 0) {
		r->done.status = IPC_ST_UNAVAILABLE;
		set_message(&r->done, "no Docker client");
		return -1;
	}
	if ((r->done.status = workdir_stage(r, why, sizeof(why))) != IPC_ST_OK) {
		set_message(&r->done, "%s", why);
		return -1;
	}
	return 0;
}

/* a started sandbox: the session's kept one, one from the warm pool, or a new one */
static int
acquire(struct run *r)
{
	const struct job *j = r->job;
	const struct policy *p = j->policy;

	if (j->session[0] != '\0') {
		int t = session_take(j->session, p, p->langs[j->lang].image,
		    r->cid, r->stat0);

		r->reused = t == 0;
		r->session_held = t == 0 || t == -1;
		if (!r->reused)
			r->stat0[0] = '\0';
	}
	if (r->reused)
		;	/* the session's sandbox, as its last call's reset left it */
	else if (pool_take(p, j->lang, r->cid, r->stat0) == 0)
		r->pooled = 1;
	else if (sandbox_create(&r->dk, p, p->langs[j->lang].image,
	    pool_prewarmed(p, j->lang), r->cid) < 0)
		return -1;
	r->have_container = 1;
	sandbox_use(r->cid, 1);
	return 0;
}

/* acquire: a started sandbox, and the memfds its output will go to */
static int
stage_acquire(struct run *r)
{
	uint64_t mark = cw_now_ms();

	if ((r->job->policy->isolation == ISOLATION_JAIL ? jail_acquire(r) :
	    acquire(r)) < 0)
		return sandbox_failed(r);
	r->t_acquire = cw_now_ms() - mark;
	r->rec.container = r->cid;
	r->rec.pooled = r->pooled;
	r->rec.waited = 1;
	r->rec.wait_us = r->t_acquire * 1000;
	if ((r->outfd = cw_memfd("cw-output")) < 0 ||
	    (r->tarfd = cw_memfd("cw-archive")) < 0) {
		r->done.status = IPC_ST_UNAVAILABLE;
		set_message(&r->done, "memfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A pooled sandbox, or a session's kept one, that sockproxy no longer knows
 * (404: a new sockproxy swept it) or that the engine stopped (409), found
 * before anything ran in it: removed, and the run goes on once in a fresh
 * sandbox of its own (a session's then starts anew: its files went with
 * the old one, and frontd is told so). 1 when it does, 0 when this is no
 * such case, -1 when no sandbox came.
 */
static int
fresh_sandbox(struct run *r)
{
	const struct job *j = r->job;
	const struct policy *p = j->policy;

	if ((!r->pooled && !r->reused) || r->retried || r->xid[0] != '\0' ||
	    (r->dk.status != 404 && r->dk.status != 409))
		return 0;
	r->retried = 1;
	log_warnx("run %u: %s sandbox %.12s is stale (%s): a fresh one", j->id,
	    r->pooled ? "pooled" : "the session's", r->cid, r->dk.err);
	dkh_peer_bump("a sandbox was stale");	/* its peers may be too */
	sandbox_remove(&r->dk, r->cid);
	if (r->pooled)
		pool_answered();
	r->pooled = r->rec.pooled = 0;
	r->reused = 0;
	r->have_container = 0;
	r->stat0[0] = '\0';
	if (r->tw != NULL) {
		/* the input archive from its start: its files are read with pread */
		r->tw->cur = 0;
		r->tw->off = 0;
		r->tw->hdr_ready = 0;
	}
	if (sandbox_create(&r->dk, p, p->langs[j->lang].image,
	    pool_prewarmed(p, j->lang), r->cid) < 0)
		return -1;
	r->have_container = 1;
	sandbox_use(r->cid, 1);
	return 1;
}

/* put: the inputs into the sandbox */
static int
stage_put(struct run *r)
{
	const struct job *j = r->job;
	uint64_t mark = cw_now_ms();
	uint32_t i;

	if (workdir_put(r) < 0)
		return fresh_sandbox(r) > 0 ? STAGE_AGAIN : sandbox_failed(r);
	r->rec.bytes_in = j->code_len;
	for (i = 0; i < j->nrecv; i++)
		r->rec.bytes_in += j->files[i].size;
	r->t_put = cw_now_ms() - mark;
	return 0;
}

/* exec: the program under its limits, watched until it ends */
static int
stage_exec(struct run *r)
{
	uint64_t mark = cw_now_ms();
	int pr;

	if ((pr = program_run(r)) < 0)
		return fresh_sandbox(r) > 0 ? STAGE_AGAIN : sandbox_failed(r);
	if (pr == PROGRAM_SHUTDOWN) {
		r->done.status = IPC_ST_UNAVAILABLE;
		set_message(&r->done, "codeward is shutting down: the run was "
		    "stopped before it ended");
		return -1;
	}
	r->t_run = cw_now_ms() - mark;
	return 0;
}

/* isolation jail: put, exec and collect as one job on the worker's channel */
static int
stage_jail(struct run *r)
{
	const struct job *j = r->job;
	uint64_t mark = cw_now_ms();
	uint32_t i;
	int jr;

	if ((jr = jail_exec(r)) == JAIL_AGAIN)
		return STAGE_AGAIN;
	if (jr < 0)
		return sandbox_failed(r);
	if (jr == PROGRAM_SHUTDOWN) {
		r->done.status = IPC_ST_UNAVAILABLE;
		set_message(&r->done, "codeward is shutting down: the run was "
		    "stopped before it ended");
		return -1;
	}
	r->rec.bytes_in = j->code_len;
	for (i = 0; i < j->nrecv; i++)
		r->rec.bytes_in += j->files[i].size;
	r->t_run = cw_now_ms() - mark;
	return 0;
}

/* collect: the work directory of a sandbox that still runs, killed run or not */
static int
stage_collect(struct run *r)
{
	struct ipc_exec_done *d = &r->done;
	uint64_t mark = cw_now_ms();

	if (!r->stopped && workdir_get(r) < 0)
		return sandbox_failed(r);
	r->t_get = cw_now_ms() - mark;
	d->fds |= IPC_DONE_OUTPUT;
	d->output_len = r->outlen;
	d->archive_len = r->tarlen;
	d->status = IPC_ST_OK;
	return 0;
}

/*
 * Before the answer, so that frontd is told: a stateful session's sandbox
 * that still runs after a run that went well (the program ended, or privd's
 * reset ended it at a limit) is kept for the session's next call; any other
 * sandbox the session held is removed and the session dropped.
 */
static uint32_t
session_outcome(const struct run *r)
{
	const struct ipc_exec_done *d = &r->done;
	int keep = r->have_container && d->status == IPC_ST_OK && !r->stopped &&
	    !r->doubt;

	if (!r->session_held)
		return IPC_SESS_NONE;
	if (r->reused)
		return keep ? IPC_SESS_REUSED_KEPT : IPC_SESS_REUSED_DROPPED;
	return keep ? IPC_SESS_NEW_KEPT : IPC_SESS_NEW_DROPPED;
}

/* answer: recorded, then frontd told, with the output's memfds sealed */
static void
stage_answer(struct run *r)
{
	struct ipc_exec_done *d = &r->done;
	int fds[2];
	size_t n = 0, i;

	d->duration_us = (cw_now_ms() - r->t0) * 1000;
	if (d->status != IPC_ST_OK) {
		d->fds = 0;
		d->flags = 0;
	}
	d->session = session_outcome(r);
	if (r->job->policy->isolation == ISOLATION_JAIL)
		jail_return(r);
	/* recorded before the answer: a scrape after it sees this run */
	record_exec(r->job, d, &r->rec);
	if (d->status == IPC_ST_OK) {
		if (d->fds & IPC_DONE_OUTPUT)
			fds[n++] = r->outfd;
		if (d->fds & IPC_DONE_ARCHIVE)
			fds[n++] = r->tarfd;
		for (i = 0; i < n; i++)
			if (cw_memfd_seal(fds[i]) < 0) {
				/*
				 * never an unsealed memfd to frontd (it ends at
				 * one): the run is answered as failed
				 */
				log_warn("run %u: seal", r->job->id);
				d->status = IPC_ST_UNAVAILABLE;
				d->fds = 0;
				d->flags = 0;
				snprintf(d->message, sizeof(d->message), "the "
				    "run's output could not be sealed; retry");
				n = 0;
				break;
			}
	}
	answer_done(d, n > 0 ? fds : NULL, n);
	/* answered: the slot is free for the user's next run at once */
	queue_release(r->job->user);
	if (r->pooled && r->job->policy->isolation != ISOLATION_JAIL)
		pool_answered();
}

/*
 * release: after the answer, as it said, a kept session's sandbox is reset
 * (unless that reset just ran) and kept; every other sandbox, and one
 * whose reset fails, is removed, and a session this run held is dropped.
 */
static void
stage_release(struct run *r)
{
	const struct ipc_exec_done *d = &r->done;
	const struct policy *p = r->job->policy;
	const char *key = r->job->session;
	int image = p->langs[r->job->lang].image;
	char stat[DKH_STAT_MAX];

	if (p->isolation == ISOLATION_JAIL) {
		jail_release(r);
		return;
	}
	if (d->session == IPC_SESS_NEW_KEPT ||
	    d->session == IPC_SESS_REUSED_KEPT) {
		if (r->was_reset)
			memcpy(stat, r->reset_stat, sizeof(stat));
		sandbox_use(r->cid, 0);	/* kept idle: a resync may judge it */
		if ((r->was_reset || reset_sandbox(&r->dk, p, r->cid, image,
		    stat, sizeof(stat), RESET_MS) == 0) &&
		    session_keep(key, p, image, r->cid, stat) == 0)
			return;
	}
	if (r->session_held)
		session_drop(key);
	if (r->have_container)
		sandbox_remove(&r->dk, r->cid);
}

/* the run's line in the log, and what it held freed */
static void
run_end(struct run *r)
{
	const struct job *j = r->job;
	const struct ipc_exec_done *d = &r->done;

	log_info("run %u: lang=%s exit=%d kill=%u answered=%llums "
	    "(%s %llu, put %llu, run %llu, get %llu) total=%llums", j->id,
	    policy_lang_name(j->lang), d->exit_code, d->kill,
	    (unsigned long long)(d->duration_us / 1000),
	    r->reused ? "session" : r->pooled ? "pool" : "create",
	    (unsigned long long)r->t_acquire,
	    (unsigned long long)r->t_put, (unsigned long long)r->t_run,
	    (unsigned long long)r->t_get,
	    (unsigned long long)(cw_now_ms() - r->t0));
	if (r->outfd >= 0)
		close(r->outfd);
	if (r->tarfd >= 0)
		close(r->tarfd);
	free(r->tw);
	free(r->code_env);
	dk_close(&r->dk);
	job_free(r->job);
}

/*
 * The driver: admitted (a queued run waits here for its slot), then the
 * stages in order; put and exec once more in a fresh sandbox when the one
 * taken was stale; whatever ended the run, the answer and the release.
 */
static void *
run_thread(void *arg)
{
	struct job *j = arg;
	struct run r;
	int s;

	memset(&r, 0, sizeof(r));
	r.outfd = r.tarfd = -1;
	r.job = j;
	job_done_init(j, &r.done);
	if (j->admit_ticket >= 0 && queue_wait(j, &r.done) < 0) {
		run_refuse(j, &r.done);
		worker_done();
		return NULL;
	}
	r.t0 = cw_now_ms();	/* admitted now */
	if (stage_prepare(&r) == 0 && stage_acquire(&r) == 0) {
		do {
			if (j->policy->isolation == ISOLATION_JAIL)
				s = stage_jail(&r);
			else if ((s = stage_put(&r)) == 0 &&
			    (s = stage_exec(&r)) == 0)
				s = stage_collect(&r);
		} while (s == STAGE_AGAIN);
	}
	stage_answer(&r);
	stage_release(&r);
	run_end(&r);
	worker_done();
	return NULL;
}

void
run_start(struct job *j)
{
	pthread_mutex_lock(&privd.lock);
	privd.workers++;
	pthread_mutex_unlock(&privd.lock);
	if (cw_thread_spawn(NULL, run_thread, j, 256 * 1024) != 0) {
		log_warn("run_start: pthread_create");
		if (queue_leave(j))
			queue_release(j->user);
		answer_error(j, IPC_ST_UNAVAILABLE, "no thread for the run");
		job_free(j);
		worker_done();
	}
}

/* wait until no run thread is alive or ms have passed; 0 when idle */
static int
wait_idle(uint64_t ms)
{
	struct timespec ts;
	int r = 0;

	cw_abstime_ms(&ts, ms);
	pthread_mutex_lock(&privd.lock);
	while (privd.workers > 0 && r == 0)
		r = pthread_cond_timedwait(&privd.idle, &privd.lock, &ts);
	r = privd.workers > 0 ? -1 : 0;
	pthread_mutex_unlock(&privd.lock);
	return r;
}

/*
 * Stop: no new run is admitted; runs in flight get a short grace to finish,
 * then their sandboxes are killed so they end at once; each run removes its
 * own sandbox; whatever is still live after that (the pool, a run that hung)
 * is removed here.
 */
void
run_shutdown(void)
{
	session_stop();
	static char ids[SANDBOX_LIVE_MAX][DK_ID_LEN + 1];
	struct dk dk;
	size_t i, n;
	int have_dk;

	pthread_mutex_lock(&privd.lock);
	privd.stopping = 1;
	pthread_mutex_unlock(&privd.lock);
	pool_stop_filling();
	wpool_stop_filling();
	ptc_relay_cancel_all();	/* runs waiting for their tools end now */
	/* the idle workers' channels closed: their sandboxes are live, below */
	(void)wpool_drop(ids, SANDBOX_LIVE_MAX);
	have_dk = dk_open(&dk, privd.sockproxy) == 0;
	if (wait_idle(5000) != 0 && have_dk) {
		n = sandbox_list(ids);
		log_info("run_shutdown: killing %zu sandbox(es) still running", n);
		privd.killed_all = 1;
		for (i = 0; i < n; i++)
			(void)dk_kill(&dk, ids[i]);
		if (wait_idle(15000) != 0)
			log_warnx("run_shutdown: runs still in flight");
	}
	if (!have_dk)
		return;
	n = sandbox_list(ids);
	for (i = 0; i < n; i++)
		sandbox_remove(&dk, ids[i]);
	dk_close(&dk);
}
