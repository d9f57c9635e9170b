/*
 * codeward-agent's parts: agent.c (the channel and the job loop),
 * agent_run.c (one program, its output and its end), agent_stage.c (the job
 * directory: staging, the snapshot, the archive of what changed).
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

#endif
