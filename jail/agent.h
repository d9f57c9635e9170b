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
#define AGENT_JAIL	"/usr/local/bin/codeward-jail"
#define AGENT_WORKDIR	"/mnt/data"		/* without -j: the job's directory */
#define AGENT_JOBS	"/mnt/data/.codeward-agent"	/* with -j: one directory each */
#define AGENT_SESSION	AGENT_JOBS "/session"	/* with -j: a session's /mnt/data */
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
	struct agent_srv *srv;		/* its server: a session's or pre-warmed */
	char		dir[64];
	unsigned char	*code;
	size_t		code_len;
	struct agent_snap *snap;
	size_t		nsnap;
	int		failed;		/* staging failed: nothing runs */
	int		killed;		/* KILL came before RUN */
	struct frame_exit exit;
};

uint64_t agent_now_ms(void);
/* one frame to privd (checked against the grammar first) */
void	agent_send(uint8_t type, const void *p, size_t n);
/* the next frame from privd, checked; payload into buf */
void	agent_recv(struct frame_hdr *h, unsigned char *buf);

int	agent_stage_init(int jailed);
int	agent_stage_begin(struct agent_job *j);
/* open a new input file for writing; -1 on failure */
int	agent_stage_file(struct agent_job *j, const unsigned char *name, size_t n);
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
 * A server in a jail of its own, started before its job's RUN
 * (agent_session.c): a session's (cw-run --session), kept between the
 * session's jobs, or the pre-warmed one (cw-run --warm) the agent prepares
 * while idle for the next stateless job. It takes calls on a socket, its
 * fd 0 (the job's language and timeout, its stdout and stderr); a
 * session's server answers each with a 4-byte status, the pre-warmed one
 * becomes its one call's program and exits with its status.
 */
struct agent_srv {
	pid_t		pid;		/* the jail's, or 0: none */
	int		fd;		/* the agent's end of the socket, or -1 */
	char		dir[64];	/* bound on its /mnt/data */
};
extern struct agent_srv agent_sess, agent_warm;

/* start s in dir (mode "--session" or "--warm"), its stderr errfd; 0 or -1 */
int	agent_srv_start(struct agent_srv *s, int jailed, const char *dir,
	    const char *mode, int errfd);
/* 1 if s lives; 0 once it has ended (then forgotten) */
int	agent_srv_alive(struct agent_srv *s);
/* one call: the job's language and timeout, its stdout and stderr; 0 or -1 */
int	agent_srv_call(struct agent_srv *s, const struct agent_job *j, int out,
	    int err);
/* 1 and *st (an exit code 0..255, or -N for signal N) when a status came;
 * 0 when none yet; -1 when the server's end closed */
int	agent_srv_status(struct agent_srv *s, int *st);
/* its jail killed, reaped, forgotten */
void	agent_srv_end(struct agent_srv *s);
/* its jail ended, reaped by the caller: forgotten */
void	agent_srv_lost(struct agent_srv *s);
/* while idle, with -j: the next stateless job's jail, its Python importing */
void	agent_warm_prepare(void);
/* the pre-warmed jail and its directory, unused, removed */
void	agent_warm_drop(void);
/* argv in its own process group, in dir, with fds as its 0, 1, 2 */
pid_t	agent_spawn(char *const argv[], char *const env[], const int fds[3],
	    const char *dir);

/*
 * Started as root (agent_root.c: the runsc worker of jail-runsc-caps): the
 * agent works as the owner of /mnt/data, root kept as its saved uid, and
 * its jails are codeward-jail -u. Set once, by agent_root_init.
 */
extern int agent_root;
/* 0 (root or not, as getuid() says at start) or -1: the agent must not run */
int	agent_root_init(int jailed);
/* codeward-jail's arguments up to "--" for dir into argv (6 slots); how many */
size_t	agent_jail_argv(char **argv, char *dir);
/* in a jail's child before its exec: euid 0 again when agent_root */
void	agent_root_child(void);
/* when agent_root: every jail tree left behind but keep's taken down */
void	agent_root_sweep(pid_t keep);

#endif
