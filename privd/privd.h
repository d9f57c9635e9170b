#ifndef CW_PRIVD_H
#define CW_PRIVD_H

#include <pthread.h>
#include <stdint.h>

#include "docker.h"
#include "ipc.h"
#include "policy.h"

/* One execution as privd received it, checked against the policy. */
struct job_file {
	char		name[IPC_NAME_MAX];
	int		fd;
	uint64_t	size;
};

struct job {
	uint32_t	id;
	const struct policy *policy;	/* in force at EXEC_BEGIN: the run's */
	int		lang;
	char		user[IPC_USER_MAX];
	uint32_t	timeout_ms;	/* clamped to the policy */
	uint32_t	opts;
	char		session[IPC_SESSION_MAX];	/* "" or the key */
	char		inbox[IPC_SESSION_MAX];	/* "" or frontd's inbox directory */
	int		code_fd;
	uint64_t	code_len;
	uint32_t	argc;
	char		args[IPC_ARGS_MAX];
	uint32_t	args_len;
	uint32_t	nfiles;		/* announced */
	uint32_t	nrecv;		/* received so far */
	uint64_t	in_bytes;	/* code and files received so far */
	struct job_file	files[IPC_FILES_MAX];
	/* a policy refusal found while receiving: answered at EXEC_RUN */
	uint32_t	refuse_status;
	char		refuse_why[IPC_MESSAGE_MAX];
	int		admit_ticket;	/* run_admit: its place in the queue, or -1 */
};

struct privd {
	/*
	 * The policy in force: set by the main thread alone (start-up, a
	 * reload), read by others with __atomic_load_n; never freed.
	 */
	const struct policy	*policy;
	const char		*sockproxy;
	int			sock;		/* the socketpair to frontd */
	pthread_mutex_t		send_lock;
	pthread_mutex_t		lock;		/* counters and the live list */
	pthread_cond_t		idle;
	uint32_t		running;	/* admitted runs, until answered */
	uint32_t		workers;	/* run threads alive, removal included */
	volatile int		stopping;
	volatile int		killed_all;	/* shutdown killed the runs left */
};

extern struct privd privd;

/* job.c */
void	job_free(struct job *j);
/* j's EXEC_DONE, empty: its id, exit code -1, the policy it was admitted under */
void	job_done_init(const struct job *j, struct ipc_exec_done *d);
/*
 * The run was killed at a limit: d's kill and the limit it names (time:
 * the job's timeout; output: the policy's stdout cap, as both engines say
 * it)
 */
void	job_done_kill(const struct job *j, struct ipc_exec_done *d,
	    enum ipc_kill kill);

/* sandbox.c: runs, pooled sandboxes and kept sessions (sockproxy caps it too) */
#define SANDBOX_LIVE_MAX \
	(POLICY_CONC_CEIL + POLICY_POOL_CEIL + POLICY_SESSIONS_CEIL)
/* create and start a sandbox of p's image 'image': it joins the live list */
int	sandbox_create(struct dk *dk, const struct policy *p, int image,
	    int prewarm_py, char *id);
/* removed, or gone (404); else kept and retried until it is (never forgotten) */
void	sandbox_remove(struct dk *dk, const char *id);
uint32_t sandbox_count(void);	/* live now */
size_t	sandbox_list(char ids[][DK_ID_LEN + 1]);	/* SANDBOX_LIVE_MAX at most */
/* a run works in id (1) or no longer (0): a resync leaves it to the run */
void	sandbox_use(const char *id, int used);
int	sandbox_used(const char *id);
/* id left the engine without privd: out of the live list; 1 if it was in */
int	sandbox_forget(const char *id);
/* a removal to retry (a leftover not in the live list too) */
void	sandbox_retry_add(const char *id);
/* try the removals that are due: when the next is due (UINT64_MAX: none) */
uint64_t sandbox_retry(struct dk *dk);
size_t	sandbox_retry_count(void);
/*
 * The Docker side of the pools and the sessions, as they reach it: create a
 * started sandbox (it joins the live list), stat its work directory, remove
 * it, open a worker's channel (worker.h: worker_open). sandbox_docker is
 * the real one; a unit test hands in its own.
 */
struct worker;
struct sandbox_ops {
	int	(*create)(struct dk *dk, const struct policy *p, int image,
		    int prewarm_py, char *id);
	int	(*stat)(struct dk *dk, const char *id, char *stat, size_t len);
	void	(*remove)(struct dk *dk, const char *id);
	int	(*open)(struct dk *dk, struct worker *w, uint64_t deadline_ms);
};
extern const struct sandbox_ops sandbox_docker;

/* resync.c: privd's view of its sandboxes kept equal to sockproxy's */
/*
 * At start-up, before the pool fills: list sockproxy's containers (the
 * leftovers of an earlier privd), then remove them in the background; and
 * start the thread that retries removals and resyncs at each change of
 * sockproxy's generation or after an outage (dkhttp.h).
 */
void	resync_start(void);
uint64_t resync_count(void);	/* resyncs done */

/* run.c */
void	run_start(struct job *j);	/* takes ownership; answers EXEC_DONE */
/* queue.c: 0, a slot or a place in the queue (the run waits); -1: busy */
int	run_admit(struct job *j);
void	run_shutdown(void);		/* kill every live sandbox */
/* an execution refused at EXEC_RUN: answer it, record it, free it */
void	run_refuse(struct job *j, struct ipc_exec_done *d);
void	answer_done(const struct ipc_exec_done *d, const int *fds, size_t nfds);

#endif
