/*
 * The program of one execution, in its sandbox: the language's runner with
 * the request's args, its raw output stream copied into a memfd under the
 * deadline and the output cap, the reset that ends what a killed program
 * left running, its exit status, and whether the sandbox itself stopped
 * under it. privd reads none of the bytes the program wrote.
 */
#include "run.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "reset.h"
#include "util.h"

/* how long a run that ended by a signal waits to see its sandbox stop */
#define WATCH_GRACE_MS		500
#define WATCH_GRACE_LONG_MS	2000
/*
 * The reset after a kill at a limit is kept short (a fork storm outruns it,
 * and the answer waits): it takes some 0.1 s under runc. Under gVisor an
 * exec alone takes about 0.5 s, too long for the promise of an answer
 * within 1 s of the time limit: the sandbox is stopped.
 */
#define KILL_RESET_MS		500

/* runner argv from the policy, then the request's args */
static void
build_argv(const struct job *j, char **argv, size_t max)
{
	const struct policy_language *l = &j->policy->langs[j->lang];
	size_t n = 0, off = 0, i;

	for (i = 0; i < l->argc && n + 1 < max; i++)
		argv[n++] = (char *)l->argv[i];
	while (off < j->args_len && n + 1 < max) {
		argv[n++] = (char *)j->args + off;
		off += strlen(j->args + off) + 1;
	}
	argv[n] = NULL;
}

/*
 * Killed at the time or output limit: end every process the program
 * started but keep the sandbox, so what it wrote comes back: the sessions'
 * fixed reset. When the reset fails (a fork storm outruns it) or under
 * gVisor, stop the whole sandbox: its files are lost.
 */
static void
reset_after_kill(struct run *r)
{
	const struct job *j = r->job;
	const struct policy *p = j->policy;

	if (p->runtime == RUNTIME_RUNSC ||
	    reset_sandbox(&r->dk, p, r->cid, p->langs[j->lang].image,
	    r->reset_stat, sizeof(r->reset_stat), KILL_RESET_MS) != 0) {
		if (p->runtime != RUNTIME_RUNSC)
			log_info("run %u: no reset after the kill (%s): "
			    "the sandbox is stopped", j->id, r->dk.err);
		if (dk_kill(&r->dk, r->cid) < 0)
			log_warnx("run %u: kill: %s", j->id, r->dk.err);
		r->stopped = 1;
	} else
		r->was_reset = 1;
}

/*
 * The exit status. The daemon may report the exec running a moment after
 * its stream ends; a stopped sandbox may have lost its execs. 0, or -1.
 */
static int
exit_status(struct run *r, int *exit_code)
{
	int running = 0, i;

	for (i = 0; i < 100; i++) {
		struct timespec ts = { 0, 10000000L };

		if (dk_exec_inspect(&r->dk, r->xid, &running, exit_code) < 0) {
			if (!r->stopped)
				return -1;
			*exit_code = -1;
			break;
		}
		if (!running)
			break;
		nanosleep(&ts, NULL);
	}
	return 0;
}

int
program_run(struct run *r)
{
	struct ipc_exec_done *d = &r->done;
	const struct job *j = r->job;
	const struct policy *p = j->policy;
	char *argv[POLICY_ARGV_MAX + IPC_ARGC_MAX + 2];
	char envbuf[2][64], *envp[4];
	struct dk_watch *watch = NULL;
	int exit_code = -1, shutdown_kill = 0;
	long cstatus = -1, grace;
	uint64_t cap, deadline;
	enum dk_stream_end end;

	build_argv(j, argv, sizeof(argv) / sizeof(argv[0]));
	snprintf(envbuf[0], sizeof(envbuf[0]), "CW_TIMEOUT_MS=%u", j->timeout_ms);
	snprintf(envbuf[1], sizeof(envbuf[1]), "CW_LANG=%s", policy_lang_name(j->lang));
	envp[0] = envbuf[0];
	envp[1] = envbuf[1];
	envp[2] = r->code_env;
	envp[3] = NULL;
	if (dk_exec_create(&r->dk, r->cid, argv, envp, r->xid) < 0)
		return -1;

	/* the raw stream: both caps, plus room for the 8-byte frame headers */
	cap = policy_output_kill(p) + 65536;
	deadline = cw_now_ms() + j->timeout_ms;
	end = dk_exec_start(&r->dk, r->cid, r->xid, r->outfd, cap, deadline,
	    &r->outlen, &watch);
	switch (end) {
	case DK_END_EOF:
	case DK_END_EXITED:
		break;
	case DK_END_DEADLINE:
		job_done_kill(j, d, IPC_KILL_TIME);
		break;
	case DK_END_CAP:
		job_done_kill(j, d, IPC_KILL_OUTPUT);
		break;
	case DK_END_ERROR:
		goto fail;
	}
	if (d->kill == IPC_KILL_TIME || d->kill == IPC_KILL_OUTPUT)
		reset_after_kill(r);
	if (end == DK_END_EOF && exit_status(r, &exit_code) < 0)
		goto fail;
	/*
	 * Did the sandbox itself stop under the program? The watch says so
	 * when it ended the stream; a stream can also end with the sandbox,
	 * so an exit by signal gives the watch a moment to see the stop, and
	 * 128 (gVisor's exec status when its kernel is gone) a longer one.
	 */
	grace = end != DK_END_EOF || exit_code < 128 ? 0 : exit_code == 128 ?
	    WATCH_GRACE_LONG_MS : WATCH_GRACE_MS;
	if (dk_watch_end(watch, grace, &cstatus) && d->kill == IPC_KILL_NONE) {
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
			d->kill = IPC_KILL_MEMORY;
			d->limit = p->memory;
		} else {
			d->kill = IPC_KILL_SANDBOX;
			d->limit = cstatus >= 0 && cstatus <= 255 ? (uint64_t)cstatus : 255;
		}
		exit_code = -1;
		r->stopped = 1;
	}
	d->exit_code = exit_code;
	/* the shutdown's kill: the run did not end, the service did */
	if (d->kill == IPC_KILL_NONE && (shutdown_kill ||
	    (exit_code == 128 + SIGKILL && privd.killed_all)))
		return PROGRAM_SHUTDOWN;
	if (d->kill == IPC_KILL_NONE && exit_code == 128 + SIGKILL) {
		/*
		 * A SIGKILL privd did not send: inside a sandbox with no
		 * capabilities that is the kernel's out-of-memory killer (the
		 * engine does not mark an exec's OOM kill in OOMKilled). A
		 * program that kills itself with SIGKILL reads the same.
		 */
		d->kill = IPC_KILL_MEMORY;
		d->limit = p->memory;
	}
	return 0;
fail:
	(void)dk_watch_end(watch, 0, NULL);	/* NULL when none is running */
	return -1;
}
