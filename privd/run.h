/*
 * One execution as its thread carries it out, in stages over one struct
 * run: prepare (the inputs staged), acquire (a started sandbox: the
 * session's, a pooled one or a new one), put (the inputs in), exec (the
 * program under its deadline and caps, watched), collect (the output and
 * the work directory), answer (frontd told, the run recorded), release
 * (the sandbox kept for its session or removed). run.c is the driver and
 * calls them in that order; workdir.c (put, collect) and program.c (exec)
 * each fill their fields of struct run and of its answer, r->done. The
 * stages call down (pool.c, session.c, sandbox.c, docker.c; under
 * isolation jail jwork.c, wpool.c, worker.c), never back into run.c.
 */
#ifndef CW_RUN_H
#define CW_RUN_H

#include <stdint.h>

#include "dkhttp.h"
#include "docker.h"
#include "ipc.h"
#include "privd.h"
#include "record.h"
#include "tarw.h"

struct run {
	struct job	*job;
	struct dk	dk;
	char		cid[DK_ID_LEN + 1];
	char		xid[DK_ID_LEN + 1];
	int		have_container;
	int		pooled;
	int		reused;		/* the session's kept sandbox */
	int		session_held;	/* taken or reserved: end it with keep or drop */
	struct tarw	*tw;		/* the input archive */
	char		*code_env;	/* "CW_CODE=...", or NULL: the code is in tw */
	char		stat0[DKH_STAT_MAX];	/* the work directory before; "" unknown */
	int		was_reset;	/* the reset ended a killed program */
	char		reset_stat[DKH_STAT_MAX];	/* the work directory after it */
	int		stopped;	/* the sandbox stopped: nothing comes back */
	int		outfd;		/* the raw exec output stream */
	int		tarfd;		/* the raw tar of the work directory */
	uint64_t	outlen, tarlen;
	int		retried;	/* a stale sandbox was replaced once */
	struct record_run rec;
	struct worker	*w;		/* isolation jail: the worker, or NULL */
	int		doubt;		/* the worker is not to serve again */
	struct ipc_exec_done done;	/* the answer, filled stage by stage */
	uint64_t	t0;		/* admitted (ms) */
	uint64_t	t_acquire, t_put, t_run, t_get;	/* ms per stage */
};

/* workdir.c */
/*
 * The job's code and inputs, ready to go in: IPC_ST_OK, or the status of
 * the answer with its reason in why.
 */
uint32_t workdir_stage(struct run *r, char *why, size_t whylen);
/* into the sandbox: 0, or -1 (r->dk.err says why) */
int	workdir_put(struct run *r);
/*
 * out of the sandbox into r->tarfd (r->done's ARCHIVE), or r->done's
 * UNCHANGED: 0, or -1 (r->dk.err)
 */
int	workdir_get(struct run *r);

/* program.c */
#define PROGRAM_SHUTDOWN	1	/* the shutdown's kill ended it, not the program */
/*
 * Run the job's program in the sandbox under its deadline and output cap
 * and fill r->done's kill, limit and exit_code, r->outlen, r->stopped and
 * r->was_reset: 0, PROGRAM_SHUTDOWN, or -1 (r->dk.err says why).
 */
int	program_run(struct run *r);

/* jwork.c: isolation jail, the job on a worker over its channel */
#define JAIL_AGAIN	2	/* the worker was stale, nothing ran: once more */
/* a worker: the session's, an idle one or a new one: 0, or -1 (r->dk.err) */
int	jail_acquire(struct run *r);
/*
 * put, exec and collect in one: the job's frames out, the agent's into
 * r->outfd and r->tarfd, r->done filled: 0, JAIL_AGAIN (a fresh worker
 * was acquired), PROGRAM_SHUTDOWN, or -1 (r->dk.err says why).
 */
int	jail_exec(struct run *r);
/*
 * before the answer: a stateless run's clean worker idle again, when it is
 * kept, so the user's next run finds it (not a worker made for it)
 */
void	jail_return(struct run *r);
/* after the answer: the worker kept by its session, idle again, or removed */
void	jail_release(struct run *r);

#endif
