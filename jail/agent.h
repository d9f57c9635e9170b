/*
 * codeward-agent's parts: agent.c (the channel and the job loop),
 * agent_run.c (one program, its output and its end), agent_stage.c (the job
 * directory: staging, the snapshot, the archive of what changed),
 * agent_session.c (a session's kept jail and its server).
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

/* run the program, stream its output; how it ended into j->exit */
void	agent_run(struct agent_job *j, int chin, int sigfd, unsigned char *buf);

/*
 * A session's jail, kept between its jobs: the server in it (cw-run
 * --session) takes one call at a time on a socket (fd 0 in the jail) and
 * answers each with one 4-byte status. The jail's pid, or 0 when none lives.
 */
pid_t	agent_session_pid(void);
/* start the jail and its server for j (its stderr on errfd); the pid or -1 */
pid_t	agent_session_start(const struct agent_job *j, int errfd);
/* one call: the job's language and timeout, its stdout and stderr; 0 or -1 */
int	agent_session_call(const struct agent_job *j, int out, int err);
/* the socket the status comes on */
int	agent_session_fd(void);
/* 1 and *st (an exit code 0..255, or -N for signal N) when a status came;
 * 0 when none yet; -1 when the server's end closed */
int	agent_session_status(int *st);
/* the jail has ended (reaped by the caller): forget it */
void	agent_session_lost(void);
/* argv in its own process group, in dir, with fds as its 0, 1, 2 */
pid_t	agent_spawn(char *const argv[], char *const env[], const int fds[3],
	    const char *dir);

#endif
