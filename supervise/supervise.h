/*
 * codeward-supervise's children: each started, watched, restarted with
 * backoff and described in the status file (child.c); the loop that
 * drives them is main.c.
 */
#ifndef CW_SUPERVISE_H
#define CW_SUPERVISE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SV_CHILDREN_MAX	4
#define SV_NAME_MAX	32
#define SV_REASON_MAX	96
#define SV_HEALTHY_MS	10000	/* a run this long resets the backoff */
#define SV_BACKOFF_MIN_MS 250	/* the second quick death in a row waits this */
#define SV_BACKOFF_MAX_MS 5000

struct sv_child {
	char		name[SV_NAME_MAX];	/* "sockproxy", "privd" */
	char		**argv;			/* argv[0]: the program's path */
	pid_t		pid;			/* 0: not running */
	uint64_t	started_ms;		/* monotonic */
	time_t		started_at;		/* wall clock, for the status file */
	unsigned int	restarts;
	uint32_t	backoff_ms;		/* the next quick death waits this */
	uint64_t	due_ms;			/* restart at (monotonic); 0: none */
	char		last[SV_REASON_MAX];	/* how the last run ended */
	const char	*pair_exe;		/* its child running this (real path) */
	pid_t		pair_pid;		/* lives and dies with it */
	int		pair_fd;		/* pidfd of pair_pid; -1: not found yet */
	uint64_t	pair_kill_ms;		/* its pair ended: SIGKILL at; 0: none */
	int		listen_fd;		/* handed to it as fd 3; -1: none */
};

/* the delay before the restart of a child that ran 'ran_ms'; updates *backoff */
uint32_t	sv_backoff(uint32_t *backoff_ms, uint64_t ran_ms);
/* "exit status N" or "signal N (NAME)" */
void		sv_reason(int status, char *out, size_t outlen);

/* fork+exec c->argv with stdout/stderr appended to logdir/NAME.log */
int		sv_start(struct sv_child *c, const char *logdir, const char *rundir);
/* c's run ended with status: logged, counted, its restart scheduled */
void		sv_ended(struct sv_child *c, int status, uint64_t now_ms, int stopping);
/* rundir/supervise.status: written to a temporary file, then renamed */
void		sv_write_status(const char *rundir, const struct sv_child *c,
		    size_t n, pid_t self);
/*
 * The pair rule (privd and the frontd it spawns live and die together):
 * sv_pair_find looks among c's children for the one running c->pair_exe
 * and opens a pidfd on it (0 when found); sv_pair_ended is called when
 * that pidfd is readable: c is killed with SIGKILL SV_PAIR_GRACE_MS later
 * (sv_pair_grace, from the loop), rather than left to stop its own way
 * (privd would drain its runs first, for no one). The grace is privd's to
 * answer the connections frontd left (privd/custody.c, CUSTODY_WRITE_MS).
 */
#define SV_PAIR_GRACE_MS	200
int		sv_pair_find(struct sv_child *c);
void		sv_pair_ended(struct sv_child *c, uint64_t now_ms);
/* c's SIGKILL once due; returns when it is due (0: none pending) */
uint64_t	sv_pair_grace(struct sv_child *c, uint64_t now_ms);
void		sv_pair_forget(struct sv_child *c);

/* a small /proc file into buf, NUL-terminated: its length, or -1 */
ssize_t		sv_read_small(const char *path, char *buf, size_t size);
/*
 * The processes whose parent is this one and that are none of the children
 * (left by a dead daemon): counted, and with kill_them, sent SIGKILL.
 */
size_t		sv_orphans(const struct sv_child *c, size_t n, int kill_them);

#endif
