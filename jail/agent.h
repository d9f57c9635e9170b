/*
 * codeward-agent's parts: agent.c (the channel and the job loop),
 * agent_run.c (one program, its output and its end), agent_stage.c (the job
 * directory: staging, the snapshot, the archive of what changed),
 * agent_session.c (a session's kept jail and its server), agent_root.c (the
 * agent started as root: the worker under runsc).
 */
#ifndef CW_AGENT_H
#define CW_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "frame.h"

#define AGENT_RUNNER	"/usr/local/bin/cw-run"
/* the script itself, not its cw-confine link: the zygote makes namespaces */
#define AGENT_ZYG_RUNNER "/usr/local/lib/codeward/cw-run"
#define AGENT_JAIL	"/usr/local/bin/codeward-jail"
#define AGENT_WORKDIR	"/mnt/data"		/* without -j: the job's directory */
#define AGENT_JOBS	"/mnt/data/.codeward-agent"	/* with -j: one directory each */
#define AGENT_SESSION	AGENT_JOBS "/session"	/* with -j: a session's /mnt/data */
/* frontd's inbox, bound read-only (policy inputs inbox, runc): LINK's files */
#define AGENT_INBOX	JAIL_INBOX
#define AGENT_CODE_MAX	(16u << 20)
#define AGENT_CODE_ENV	65536	/* a shorter program goes in CW_CODE */
#define AGENT_SNAP_MAX	8192	/* staged files remembered */
#define AGENT_DRAIN_MS	200	/* output still read after the program ended */

struct agent_snap {
	char		*path;		/* relative to the job directory */
	off_t		size;
	ino_t		ino;
	struct timespec	mtime;
	int		kept;		/* still there, unchanged, at the end */
};

struct agent_job {
	struct frame_job job;
	int		jailed;
	int		session;	/* FRAME_JOB_SESSION */
	int		ptc;		/* FRAME_JOB_PTC: fds 3 and 4 to the program */
	struct agent_srv *srv;		/* a session's server */
	int		zyg;		/* forked by the worker's zygote */
	char		dir[64];
	unsigned char	*code;
	size_t		code_len;
	char		*args;		/* ARG frames, each NUL-terminated */
	size_t		args_len;
	int		argc;
	struct agent_snap *snap;
	size_t		nsnap;
	int		failed;		/* staging failed: nothing runs */
	int		killed;		/* KILL came before RUN */
	struct frame_exit exit;
};

uint64_t agent_now_ms(void);
/* one frame to privd (checked against the grammar first) */
void	agent_send(uint8_t type, const void *p, size_t n);
/* the next frame from privd, checked; payload into buf (a RESULT's: kept
 * for agent_result_take) */
void	agent_recv(struct frame_hdr *h, unsigned char *buf);
/* the last RESULT's payload (malloc'd, NULL when empty) and its length */
unsigned char *agent_result_take(size_t *len);

int	agent_stage_init(int jailed);
int	agent_stage_begin(struct agent_job *j);
/* open a new input file for writing; -1 on failure */
int	agent_stage_file(struct agent_job *j, const unsigned char *name, size_t n);
/* LINK: the input file's bytes copied from the inbox into fd; 0 or -1 */
int	agent_stage_link(int fd, const unsigned char *p, size_t n);
int	agent_code_add(struct agent_job *j, const unsigned char *p, size_t n);
/* write the code (unless it goes in CW_CODE) and take the snapshot */
int	agent_stage_seal(struct agent_job *j, int *code_in_env);
/* ARCHIVE frames of what the job created or changed */
void	agent_archive(struct agent_job *j);
void	agent_stage_end(struct agent_job *j);
/* a new job directory under AGENT_JOBS (with -j); 0 or -1 */
int	agent_stage_newdir(char *dir, size_t n);

/* run the program, stream its output; how it ended into j->exit */
void	agent_run(struct agent_job *j, int chin, int sigfd, unsigned char *buf);

/*
 * A server started by the agent (agent_session.c): a session's, in a jail
 * of its own (cw-run --session), kept between the session's jobs; it takes
 * calls on a socket, its fd 0 (the job's language and timeout, its stdout
 * and stderr) and answers each with a 4-byte status. The worker's zygote
 * (agent_zygote.c) is one too, outside every jail.
 */
struct agent_srv {
	pid_t		pid;		/* the server's, or 0: none */
	int		fd;		/* the agent's end of the socket, or -1 */
	char		dir[64];	/* bound on its /mnt/data */
};
extern struct agent_srv agent_sess, agent_zyg;

/* start s in dir (runner and mode, jailed or not), its stderr errfd; 0 or -1 */
int	agent_srv_start(struct agent_srv *s, int jailed, const char *dir,
	    const char *runner, const char *mode, int errfd);
/* 1 if s lives; 0 once it has ended (then forgotten) */
int	agent_srv_alive(struct agent_srv *s);
/* one call: the job's language and timeout, its stdout and stderr; 0 or -1 */
int	agent_srv_call(struct agent_srv *s, const struct agent_job *j, int out,
	    int err);
/* one message and its descriptors (1..AGENT_SRV_FDS), never blocking; 0 or -1 */
#define AGENT_SRV_FDS	3
int	agent_srv_send(struct agent_srv *s, const char *msg, size_t n,
	    const int *fds, size_t nfds);
/* 1 and *st (an exit code 0..255, or -N for signal N) when a status came;
 * 0 when none yet; -1 when the server's end closed */
int	agent_srv_status(struct agent_srv *s, int *st);
/* its process group killed, the server reaped, forgotten */
void	agent_srv_end(struct agent_srv *s);
/* it ended, reaped by the caller: forgotten */
void	agent_srv_lost(struct agent_srv *s);

/* with -j: the zygote started unless it runs (while idle) */
void	agent_zyg_start(void);
/* 1 when it runs and has its imports done */
int	agent_zyg_ready(void);
/* the job forked into a fresh jail: the child's pid, *pidfd a pidfd of it
 * or -1; -1 when no child of it began the job (the job can go cold) */
pid_t	agent_zyg_call(const struct agent_job *j, int out, int err, int *pidfd);
/* 1 and *wstatus when the child's wait status came; 0 when none yet; -1
 * when the zygote has gone (it is then ended) */
int	agent_zyg_status(int *wstatus);
/* the child killed (by its pidfd when there is one) */
void	agent_zyg_kill(pid_t pid, int pidfd);
/* argv in its own process group, in dir, with fds as its 0, 1, 2 (and
 * 3, 4 unless fds[3] is -1) */
pid_t	agent_spawn(char *const argv[], char *const env[], const int fds[5],
	    const char *dir);

/*
 * Started as root (agent_root.c: the runsc worker of jail-runsc-caps): the
 * agent works as the owner of /mnt/data, root kept as its saved uid, and
 * its jails are codeward-jail -u. Set once, by agent_root_init.
 */
extern int agent_root;
/*
 * With -j: each jail's /tmp and /dev/shm sizes and inode cap, as the agent's
 * argv gave them (decimal, inside jail.h's JAIL_SIZE_* and JAIL_FILES_*), or
 * codeward-jail's defaults (the shipped policy's) when it gave none.
 */
struct agent_sizes {
	char		tmp[24], shm[24], files[24];	/* same sizes */
};
extern struct agent_sizes agent_sizes;
/* 0 (root or not, as getuid() says at start) or -1: the agent must not run */
int	agent_root_init(int jailed);
/* codeward-jail's arguments up to "--" for dir into argv (AGENT_JAIL_ARGC
 * slots); how many */
#define AGENT_JAIL_ARGC	12
size_t	agent_jail_argv(char **argv, char *dir);
/* in a jail's child before its exec: euid 0 again when agent_root */
void	agent_root_child(void);
/* when agent_root: every jail tree left behind but keep's taken down */
void	agent_root_sweep(pid_t keep);

#endif
