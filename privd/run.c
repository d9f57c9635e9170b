/*
 * One execution, in its own thread: take a started sandbox, copy the code
 * and inputs in, run the language's runner under the deadline, relay the raw
 * output stream and the raw tar of the work directory back to frontd, and
 * remove the sandbox. privd parses none of the bytes the sandbox produced:
 * the output and the archive are copied into memfds and handed on as they
 * are; frontd (the sandboxed side) parses them.
 */
#include "privd.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dkhttp.h"
#include "docker.h"
#include "log.h"
#include "pool.h"
#include "session.h"
#include "record.h"
#include "tarw.h"
#include "utf8.h"
#include "util.h"

/* how long a run that ended by a signal waits to see its sandbox stop */
#define WATCH_GRACE_MS		500
#define WATCH_GRACE_LONG_MS	2000
/*
 * The reset after a session's call; after a kill at a limit it is kept short
 * (a fork storm outruns it, and the answer waits): it takes some 0.1 s under
 * runc. Under gVisor an exec alone takes about 0.5 s, too long for the
 * promise of an answer within 1 s of the time limit: the sandbox is stopped.
 */
#define RESET_MS		10000
#define KILL_RESET_MS		500
/* runs, pooled sandboxes and kept sessions (sockproxy's own table caps it too) */
#define LIVE_MAX	(POLICY_CONC_CEIL + POLICY_POOL_CEIL + POLICY_SESSIONS_CEIL)
#define USERS_MAX	POLICY_CONC_CEIL

/* live sandboxes, so a shutdown can remove every one */
static char live[LIVE_MAX][DK_ID_LEN + 1];
static struct {
	char		user[IPC_USER_MAX];
	uint32_t	n;
} users[USERS_MAX];

static void live_del(const char *id);

static void
live_add(const char *id)
{
	size_t i;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < LIVE_MAX; i++) {
		if (live[i][0] == '\0') {
			memcpy(live[i], id, DK_ID_LEN + 1);
			break;
		}
	}
	pthread_mutex_unlock(&privd.lock);
	if (i == LIVE_MAX)
		log_warnx("live_add: no slot for sandbox %.12s: a shutdown will "
		    "not remove it (the start-up sweep will)", id);
}

/* create and start a fresh sandbox of policy image 'image'; it joins the live list */
int
sandbox_create(struct dk *dk, int image, int prewarm_py, char *id)
{
	if (dk_create(dk, privd.policy, privd.policy->images[image].ref,
	    prewarm_py, id) < 0)
		return -1;
	record_created();
	live_add(id);
	if (dk_start(dk, id) < 0) {
		char err[sizeof(dk->err)];

		memcpy(err, dk->err, sizeof(err));
		sandbox_remove(dk, id);
		memcpy(dk->err, err, sizeof(err));
		return -1;
	}
	return 0;
}

static void
live_del(const char *id)
{
	size_t i;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < LIVE_MAX; i++)
		if (strcmp(live[i], id) == 0)
			live[i][0] = '\0';
	pthread_mutex_unlock(&privd.lock);
}

int
run_admit(const char *user)
{
	const struct policy *p = privd.policy;
	size_t i, slot = USERS_MAX;
	int r = -1;

	pthread_mutex_lock(&privd.lock);
	if (privd.stopping || privd.running >= p->conc_total)
		goto out;
	for (i = 0; i < USERS_MAX; i++) {
		if (users[i].n > 0 && strcmp(users[i].user, user) == 0) {
			slot = i;
			break;
		}
		if (users[i].n == 0 && slot == USERS_MAX)
			slot = i;
	}
	if (slot == USERS_MAX || users[slot].n >= p->conc_per_user)
		goto out;
	if (users[slot].n == 0)
		snprintf(users[slot].user, sizeof(users[slot].user), "%s", user);
	users[slot].n++;
	privd.running++;
	r = 0;
out:
	pthread_mutex_unlock(&privd.lock);
	return r;
}

static void
release(const char *user)
{
	size_t i;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < USERS_MAX; i++) {
		if (users[i].n > 0 && strcmp(users[i].user, user) == 0) {
			users[i].n--;
			break;
		}
	}
	privd.running--;
	pthread_mutex_unlock(&privd.lock);
}

static void
worker_done(void)
{
	pthread_mutex_lock(&privd.lock);
	privd.workers--;
	pthread_cond_broadcast(&privd.idle);
	pthread_mutex_unlock(&privd.lock);
}

void
sandbox_remove(struct dk *dk, const char *id)
{
	if (dk_remove(dk, id) < 0) {
		log_warnx("sandbox_remove %.12s: %s", id, dk->err);
	} else {
		live_del(id);
		record_removed();
	}
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

	memset(&d, 0, sizeof(d));
	ipc_hdr_init(&d.hdr, IPC_EXEC_DONE, sizeof(d), j->id);
	d.status = status;
	d.exit_code = -1;
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

/* runner argv from the policy, then the request's args */
static int
build_argv(const struct job *j, char **argv, size_t max)
{
	const struct policy_language *l = &privd.policy->langs[j->lang];
	size_t n = 0, off = 0, i;

	for (i = 0; i < l->argc && n + 1 < max; i++)
		argv[n++] = (char *)l->argv[i];
	while (off < j->args_len && n + 1 < max) {
		argv[n++] = (char *)j->args + off;
		off += strlen(j->args + off) + 1;
	}
	argv[n] = NULL;
	return 0;
}

struct run {
	struct job	*job;
	struct dk	dk;
	char		cid[DK_ID_LEN + 1];
	char		xid[DK_ID_LEN + 1];
	int		have_container;
	int		pooled;
	int		reused;		/* the session's kept sandbox */
	int		session_held;	/* taken or reserved: end it with keep or drop */
	int		was_reset;	/* the reset ended a killed program */
	char		reset_stat[DKH_STAT_MAX];	/* the work directory after it */
	struct record_run rec;
	uint64_t	t_acquire, t_put, t_run, t_get;	/* ms per step */
};

/*
 * The stat taken before the run, unchanged after it (and both known); the
 * stat after is the reset's when a reset ran, else asked for here.
 */
static int
workdir_untouched(struct run *r, const char *stat0)
{
	char stat1[DKH_STAT_MAX];

	if (stat0[0] == '\0')
		return 0;
	if (r->was_reset)
		return strcmp(stat0, r->reset_stat) == 0;
	if (dk_stat_workdir(&r->dk, r->cid, stat1, sizeof(stat1)) != 0)
		return 0;
	return strcmp(stat0, stat1) == 0;
}

static size_t
fill(char *buf, size_t len, void *ctx)
{
	struct tarw *t = ctx;
	size_t n = tarw_fill(buf, len, t);

	return t->failed ? DK_FILL_ABORT : n;
}

/*
 * Before the answer, so that frontd is told: a stateful session's sandbox
 * that still runs after a run that went well (the program ended, or privd's
 * reset ended it at a limit) is kept for the session's next call; any other
 * sandbox the session held is removed and the session dropped.
 */
static uint32_t
session_outcome(const struct run *r, const struct ipc_exec_done *d, int stopped)
{
	int keep = r->have_container && d->status == IPC_ST_OK && !stopped;

	if (!r->session_held)
		return IPC_SESS_NONE;
	if (r->reused)
		return keep ? IPC_SESS_REUSED_KEPT : IPC_SESS_REUSED_DROPPED;
	return keep ? IPC_SESS_NEW_KEPT : IPC_SESS_NEW_DROPPED;
}

/*
 * After the answer, as it said: a kept session's sandbox is reset, unless
 * that reset just ran, and kept; every other sandbox, and one whose reset
 * fails, is removed, and a session this run held is dropped.
 */
static void
finish_sandbox(struct run *r, const struct ipc_exec_done *d)
{
	const struct policy *p = privd.policy;
	const char *key = r->job->session;
	int image = p->langs[r->job->lang].image;
	char stat[DKH_STAT_MAX];

	if (d->session == IPC_SESS_NEW_KEPT ||
	    d->session == IPC_SESS_REUSED_KEPT) {
		if (r->was_reset)
			memcpy(stat, r->reset_stat, sizeof(stat));
		if ((r->was_reset || session_reset(&r->dk, r->cid, image, stat,
		    sizeof(stat), RESET_MS) == 0) &&
		    session_keep(key, image, r->cid, stat) == 0)
			return;
	}
	if (r->session_held)
		session_drop(key);
	if (r->have_container)
		sandbox_remove(&r->dk, r->cid);
}

static void *
run_thread(void *arg)
{
	struct run r;
	struct job *j = arg;
	const struct policy *p = privd.policy;
	struct ipc_exec_done d;
	struct tarw *tw = NULL;
	char *argv[POLICY_ARGV_MAX + IPC_ARGC_MAX + 2];
	char envbuf[2][64], *envp[4], *code_env = NULL;
	char stat0[DKH_STAT_MAX] = "";
	int outfd = -1, tarfd = -1, fds[2], running = 0, exit_code = -1;
	int stopped = 0, shutdown_kill = 0;
	long cstatus = -1;
	struct dk_watch *watch = NULL;
	long grace;
	uint64_t t0 = cw_now_ms(), mark, deadline, outlen = 0, tarlen = 0, cap;
	enum dk_stream_end end;
	uint32_t i;

	memset(&r, 0, sizeof(r));
	memset(&d, 0, sizeof(d));
	ipc_hdr_init(&d.hdr, IPC_EXEC_DONE, sizeof(d), j->id);
	d.exit_code = -1;
	r.job = j;
	if (dk_open(&r.dk, privd.sockproxy) < 0) {
		d.status = IPC_ST_UNAVAILABLE;
		set_message(&d, "no Docker client");
		goto out;
	}

	/* the input archive: the code, then the files (a later name wins) */
	if ((tw = malloc(sizeof(*tw))) == NULL) {
		d.status = IPC_ST_UNAVAILABLE;
		set_message(&d, "out of memory");
		goto out;
	}
	tarw_init(tw, p->uid, (uint64_t)time(NULL));
	/*
	 * A short program with no input files goes in the exec's environment:
	 * one archive upload fewer. Anything else goes in the archive.
	 */
	if (j->nrecv == 0 && j->code_len <= DK_CODE_ENV_MAX) {
		ssize_t n;

		code_env = malloc(sizeof("CW_CODE=") + j->code_len);
		if (code_env == NULL) {
			d.status = IPC_ST_UNAVAILABLE;
			set_message(&d, "out of memory");
			goto out;
		}
		memcpy(code_env, "CW_CODE=", 8);
		n = pread(j->code_fd, code_env + 8, j->code_len, 0);
		/* an env entry is text: anything else takes the archive */
		if (n != (ssize_t)j->code_len ||
		    !utf8_valid((unsigned char *)code_env + 8, j->code_len)) {
			free(code_env);
			code_env = NULL;
		} else
			code_env[8 + j->code_len] = '\0';
	}
	if (code_env == NULL &&
	    tarw_add_file(tw, ".codeward/code", j->code_fd, j->code_len) < 0)
		goto refuse_name;
	for (i = 0; i < j->nrecv; i++) {
		if (tarw_add_file(tw, j->files[i].name, j->files[i].fd,
		    j->files[i].size) < 0) {
			d.status = IPC_ST_REFUSED;
			set_message(&d, "file '%s' cannot be placed in /mnt/data "
			    "(a file where a folder must be, or a name too long)",
			    j->files[i].name);
			goto out;
		}
	}

	/* a started sandbox: from the warm pool, else a new one */
	mark = cw_now_ms();
	if (j->session[0] != '\0') {
		int t = session_take(j->session, p->langs[j->lang].image, r.cid,
		    stat0);

		r.reused = t == 0;
		r.session_held = t == 0 || t == -1;
		if (!r.reused)
			stat0[0] = '\0';
	}
	if (r.reused)
		;	/* the session's sandbox, as its last call's reset left it */
	else if (pool_take(j->lang, r.cid, stat0) == 0)
		r.pooled = 1;
	else if (sandbox_create(&r.dk, p->langs[j->lang].image,
	    pool_prewarmed(j->lang), r.cid) < 0)
		goto unavailable;
	r.have_container = 1;
	r.t_acquire = cw_now_ms() - mark;
	r.rec.container = r.cid;
	r.rec.pooled = r.pooled;
	r.rec.waited = 1;
	r.rec.wait_us = r.t_acquire * 1000;
	mark = cw_now_ms();
	/*
	 * Nothing to upload (the code is in the environment): remember the
	 * work directory's stat; if it is the same after the run, the program
	 * wrote nothing there and the archive download (dockerd runs a tar
	 * helper for it, ~50 ms) is skipped. With inputs, always download:
	 * an input changed in place leaves the directory's stat alone, and so
	 * does a session's file from an earlier call: a reused sandbox always
	 * downloads too. A pooled sandbox's stat was taken when it was pooled:
	 * only a new sandbox costs a request here.
	 */
	if (code_env == NULL || r.reused)
		stat0[0] = '\0';
	else if (!r.reused && stat0[0] == '\0' && dk_stat_workdir(&r.dk, r.cid,
	    stat0, sizeof(stat0)) != 0)
		stat0[0] = '\0';
	if (code_env == NULL &&
	    dk_put_archive(&r.dk, r.cid, tarw_size(tw), fill, tw) < 0)
		goto unavailable;
	r.rec.bytes_in = j->code_len;
	for (i = 0; i < j->nrecv; i++)
		r.rec.bytes_in += j->files[i].size;
	r.t_put = cw_now_ms() - mark;
	mark = cw_now_ms();

	build_argv(j, argv, sizeof(argv) / sizeof(argv[0]));
	snprintf(envbuf[0], sizeof(envbuf[0]), "CW_TIMEOUT_MS=%u", j->timeout_ms);
	snprintf(envbuf[1], sizeof(envbuf[1]), "CW_LANG=%s", policy_lang_name(j->lang));
	envp[0] = envbuf[0];
	envp[1] = envbuf[1];
	envp[2] = code_env;
	envp[3] = NULL;
	if (dk_exec_create(&r.dk, r.cid, argv, envp, r.xid) < 0)
		goto unavailable;

	if ((outfd = cw_memfd("cw-output")) < 0 ||
	    (tarfd = cw_memfd("cw-archive")) < 0) {
		d.status = IPC_ST_UNAVAILABLE;
		set_message(&d, "memfd: %s", strerror(errno));
		goto out;
	}
	/* the raw stream: both caps, plus room for the 8-byte frame headers */
	cap = 2 * (p->stdout_max + p->stderr_max) + 65536;
	deadline = cw_now_ms() + j->timeout_ms;
	end = dk_exec_start(&r.dk, r.cid, r.xid, outfd, cap, deadline, &outlen,
	    &watch);
	switch (end) {
	case DK_END_EOF:
	case DK_END_EXITED:
		break;
	case DK_END_DEADLINE:
		d.kill = IPC_KILL_TIME;
		d.limit = j->timeout_ms;
		break;
	case DK_END_CAP:
		d.kill = IPC_KILL_OUTPUT;
		d.limit = p->stdout_max;
		break;
	case DK_END_ERROR:
		goto unavailable;
	}
	if (d.kill == IPC_KILL_TIME || d.kill == IPC_KILL_OUTPUT) {
		/*
		 * End every process the program started but keep the sandbox,
		 * so what it wrote comes back: the sessions' fixed reset. When
		 * the reset fails (a fork storm outruns it) or under gVisor,
		 * stop the whole sandbox: its files are lost.
		 */
		if (p->runtime == RUNTIME_RUNSC ||
		    session_reset(&r.dk, r.cid, p->langs[j->lang].image,
		    r.reset_stat, sizeof(r.reset_stat), KILL_RESET_MS) != 0) {
			if (p->runtime != RUNTIME_RUNSC)
				log_info("run %u: no reset after the kill (%s): "
				    "the sandbox is stopped", j->id, r.dk.err);
			if (dk_kill(&r.dk, r.cid) < 0)
				log_warnx("run %u: kill: %s", j->id, r.dk.err);
			stopped = 1;
		} else
			r.was_reset = 1;
	}
	/*
	 * The exit status. The daemon may report the exec running a moment
	 * after its stream ends; a stopped sandbox may have lost its execs.
	 */
	for (i = 0; end == DK_END_EOF && i < 100; i++) {
		struct timespec ts = { 0, 10000000L };

		if (dk_exec_inspect(&r.dk, r.xid, &running, &exit_code) < 0) {
			if (!stopped)
				goto unavailable;
			exit_code = -1;
			break;
		}
		if (!running)
			break;
		nanosleep(&ts, NULL);
	}
	/*
	 * Did the sandbox itself stop under the program? The watch says so
	 * when it ended the stream; a stream can also end with the sandbox,
	 * so an exit by signal gives the watch a moment to see the stop, and
	 * 128 (gVisor's exec status when its kernel is gone) a longer one.
	 */
	grace = end != DK_END_EOF || exit_code < 128 ? 0 : exit_code == 128 ?
	    WATCH_GRACE_LONG_MS : WATCH_GRACE_MS;
	if (dk_watch_end(watch, grace, &cstatus) && d.kill == IPC_KILL_NONE) {
		/*
		 * Killed (137) when privd sent nothing: the kernel's
		 * out-of-memory killer took its init or, under gVisor, its
		 * whole user-space kernel. Any other status: gVisor's kernel
		 * could not go on (a fork storm leaves it no thread within the
		 * pids limit), or the program stopped its own init.
		 */
		log_info("run %u: the sandbox stopped under the program (status %ld)",
		    j->id, cstatus);
		if (privd.killed_all) {
			/* the shutdown's kill, not the program's doing */
			shutdown_kill = 1;
		} else if (cstatus == 128 + SIGKILL) {
			d.kill = IPC_KILL_MEMORY;
			d.limit = p->memory;
		} else {
			d.kill = IPC_KILL_SANDBOX;
			d.limit = cstatus >= 0 && cstatus <= 255 ? (uint64_t)cstatus : 255;
		}
		exit_code = -1;
		stopped = 1;
	}
	watch = NULL;
	d.exit_code = exit_code;
	if (d.kill == IPC_KILL_NONE && (shutdown_kill ||
	    (exit_code == 128 + SIGKILL && privd.killed_all))) {
		/* the shutdown's kill: the run did not end, the service did */
		d.status = IPC_ST_UNAVAILABLE;
		set_message(&d, "codeward is shutting down: the run was stopped "
		    "before it ended");
		goto out;
	}
	if (d.kill == IPC_KILL_NONE && exit_code == 128 + SIGKILL) {
		/*
		 * A SIGKILL privd did not send: inside a sandbox with no
		 * capabilities that is the kernel's out-of-memory killer (the
		 * engine does not mark an exec's OOM kill in OOMKilled). A
		 * program that kills itself with SIGKILL reads the same.
		 */
		d.kill = IPC_KILL_MEMORY;
		d.limit = p->memory;
	}
	r.t_run = cw_now_ms() - mark;
	mark = cw_now_ms();
	/* the work directory of a sandbox that still runs, killed run or not */
	if (!stopped) {
		if (workdir_untouched(&r, stat0)) {
			d.flags |= IPC_DF_UNCHANGED;	/* nothing to fetch */
		} else {
			cap = 2 * p->workdir_size + (4ULL << 20);
			if (dk_get_archive(&r.dk, r.cid, tarfd, cap, &tarlen) < 0)
				goto unavailable;
			d.fds |= IPC_DONE_ARCHIVE;
		}
	}
	r.t_get = cw_now_ms() - mark;
	d.fds |= IPC_DONE_OUTPUT;
	d.output_len = outlen;
	d.archive_len = tarlen;
	d.status = IPC_ST_OK;
	goto out;

refuse_name:
	d.status = IPC_ST_REFUSED;
	set_message(&d, "program cannot be placed");
	goto out;
unavailable:
	(void)dk_watch_end(watch, 0, NULL);	/* NULL when none is running */
	log_warnx("run %u: %s", j->id, r.dk.err);
	d.status = IPC_ST_UNAVAILABLE;
	set_message(&d, "sandbox failed: %s", r.dk.err);
	d.kill = IPC_KILL_NONE;
	d.fds = 0;
out:
	d.duration_us = (cw_now_ms() - t0) * 1000;
	if (d.status != IPC_ST_OK) {
		d.fds = 0;
		d.flags = 0;
	}
	d.session = session_outcome(&r, &d, stopped);
	/* recorded before the answer: a scrape after it sees this run */
	record_exec(j, &d, &r.rec);
	if (d.status == IPC_ST_OK) {
		size_t n = 0;

		if (d.fds & IPC_DONE_OUTPUT)
			fds[n++] = outfd;
		if (d.fds & IPC_DONE_ARCHIVE)
			fds[n++] = tarfd;
		for (i = 0; i < n; i++)
			if (cw_memfd_seal(fds[i]) < 0)
				log_warn("run %u: seal", j->id);
		answer_done(&d, fds, n);
	} else {
		d.fds = 0;
		answer_done(&d, NULL, 0);
	}
	/* answered: the slot is free for the user's next run at once */
	release(j->user);
	if (r.pooled)
		pool_answered();
	finish_sandbox(&r, &d);
	log_info("run %u: lang=%s exit=%d kill=%u answered=%llums "
	    "(%s %llu, put %llu, run %llu, get %llu) total=%llums", j->id,
	    policy_lang_name(j->lang), d.exit_code, d.kill,
	    (unsigned long long)(d.duration_us / 1000),
	    r.reused ? "session" : r.pooled ? "pool" : "create",
	    (unsigned long long)r.t_acquire,
	    (unsigned long long)r.t_put, (unsigned long long)r.t_run,
	    (unsigned long long)r.t_get, (unsigned long long)(cw_now_ms() - t0));
	if (outfd >= 0)
		close(outfd);
	if (tarfd >= 0)
		close(tarfd);
	free(tw);
	free(code_env);
	dk_close(&r.dk);
	job_free(j);
	worker_done();
	return NULL;
}

void
run_start(struct job *j)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_mutex_lock(&privd.lock);
	privd.workers++;
	pthread_mutex_unlock(&privd.lock);
	if (pthread_create(&t, &attr, run_thread, j) != 0) {
		log_warn("run_start: pthread_create");
		release(j->user);
		answer_error(j, IPC_ST_UNAVAILABLE, "no thread for the run");
		job_free(j);
		worker_done();
	}
	pthread_attr_destroy(&attr);
}

/* what a single-request answering thread is given */
struct health_arg {
	uint32_t	id;
};

static void *
health_thread(void *arg)
{
	struct health_arg *h = arg;
	struct ipc_health_reply rep;
	struct dk dk;
	char ids[1][DK_ID_LEN + 1];

	memset(&rep, 0, sizeof(rep));
	ipc_hdr_init(&rep.hdr, IPC_HEALTH_REPLY, sizeof(rep), h->id);
	if (dk_open(&dk, privd.sockproxy) == 0) {
		rep.ok = dk_list(&dk, ids, 1) >= 0 && !privd.stopping;
		if (!rep.ok)
			log_warnx("health: %s", dk.err);
		dk_close(&dk);
	}
	pthread_mutex_lock(&privd.send_lock);
	if (ipc_send(privd.sock, &rep, sizeof(rep), NULL, 0) != 0)
		log_warn("health: send");
	pthread_mutex_unlock(&privd.send_lock);
	free(h);
	return NULL;
}

/* a detached thread that answers one single request (HEALTH, METRICS) */
static void
answer_in_thread(void *(*fn)(void *), uint32_t id, const char *what)
{
	struct health_arg *h = malloc(sizeof(*h));
	pthread_attr_t attr;
	pthread_t t;

	if (h == NULL)
		fatalx("%s: out of memory", what);
	h->id = id;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	if (pthread_create(&t, &attr, fn, h) != 0)
		fatal("%s: pthread_create", what);
	pthread_attr_destroy(&attr);
}

void
run_health(uint32_t id)
{
	answer_in_thread(health_thread, id, "run_health");
}

static uint32_t
live_count(void)
{
	uint32_t i, n = 0;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < LIVE_MAX; i++)
		n += live[i][0] != '\0';
	pthread_mutex_unlock(&privd.lock);
	return n;
}

static void *
metrics_thread(void *arg)
{
	struct health_arg *h = arg;
	struct ipc_metrics_reply rep;
	struct dk dk;

	memset(&rep, 0, sizeof(rep));
	ipc_hdr_init(&rep.hdr, IPC_METRICS_REPLY, sizeof(rep), h->id);
	record_fill(&rep);
	pthread_mutex_lock(&privd.lock);
	rep.running = privd.running;
	pthread_mutex_unlock(&privd.lock);
	rep.live = live_count();
	pool_sizes(&rep.pool_ready, &rep.pool_target);
	if (dk_open(&dk, privd.sockproxy) == 0) {
		if (dk_stats(&dk, rep.refusals) == 0)
			rep.proxy_up = 1;
		else
			log_warnx("metrics: %s", dk.err);
		dk_close(&dk);
	}
	if (!rep.proxy_up)
		memset(rep.refusals, 0, sizeof(rep.refusals));
	pthread_mutex_lock(&privd.send_lock);
	if (ipc_send(privd.sock, &rep, sizeof(rep), NULL, 0) != 0)
		log_warn("metrics: send");
	pthread_mutex_unlock(&privd.send_lock);
	free(h);
	return NULL;
}

void
run_metrics(uint32_t id)
{
	answer_in_thread(metrics_thread, id, "run_metrics");
}

void
run_sweep(void)
{
	char ids[64][DK_ID_LEN + 1];
	struct dk dk;
	int n, i;

	if (dk_open(&dk, privd.sockproxy) < 0)
		fatalx("run_sweep: no Docker client");
	n = dk_list(&dk, ids, 64);
	if (n < 0)
		log_warnx("run_sweep: list: %s", dk.err);
	for (i = 0; i < n; i++) {
		if (dk_remove(&dk, ids[i]) < 0) {
			log_warnx("run_sweep: remove %s: %s", ids[i], dk.err);
		} else {
			log_info("run_sweep: removed leftover sandbox %.12s", ids[i]);
			record_swept();
		}
	}
	dk_close(&dk);
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

static size_t
live_copy(char ids[][DK_ID_LEN + 1])
{
	size_t i, n = 0;

	pthread_mutex_lock(&privd.lock);
	for (i = 0; i < LIVE_MAX; i++)
		if (live[i][0] != '\0')
			memcpy(ids[n++], live[i], DK_ID_LEN + 1);
	pthread_mutex_unlock(&privd.lock);
	return n;
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
	static char ids[LIVE_MAX][DK_ID_LEN + 1];
	struct dk dk;
	size_t i, n;
	int have_dk;

	pthread_mutex_lock(&privd.lock);
	privd.stopping = 1;
	pthread_mutex_unlock(&privd.lock);
	pool_stop_filling();
	have_dk = dk_open(&dk, privd.sockproxy) == 0;
	if (wait_idle(5000) != 0 && have_dk) {
		n = live_copy(ids);
		log_info("run_shutdown: killing %zu sandbox(es) still running", n);
		privd.killed_all = 1;
		for (i = 0; i < n; i++)
			(void)dk_kill(&dk, ids[i]);
		if (wait_idle(15000) != 0)
			log_warnx("run_shutdown: runs still in flight");
	}
	if (!have_dk)
		return;
	n = live_copy(ids);
	for (i = 0; i < n; i++)
		sandbox_remove(&dk, ids[i]);
	dk_close(&dk);
}
