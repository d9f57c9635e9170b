/*
 * codeward-jail: one execution in namespaces of its own inside a worker
 * container (issue 15). jail.c builds the jail; enter.c forks the init the
 * jailed program runs under, and is libcwjail.so's entry (the worker's
 * zygote enters a jail in-process); main.c reads argv and execs the program.
 */
#ifndef CW_JAIL_H
#define CW_JAIL_H

#include <stdint.h>
#include <sys/types.h>

struct jail_conf {
	const char	*workdir;	/* staged inputs, bound on /mnt/data */
	uint64_t	 tmp_size;	/* bytes of the fresh /tmp */
	uint64_t	 shm_size;	/* bytes of the fresh /dev/shm */
	uint32_t	 files;		/* inodes of each of them */
	int		 proc;		/* mount a fresh /proc (fails closed) */
	char *const	*argv;		/* the program and its arguments */
	int		 as_root;	/* -u: started as root under gVisor */
	uid_t		 uid;		/* -u: the sandbox uid and gid */
	gid_t		 gid;
};

#define JAIL_WORKDIR	"/mnt/data"
#define JAIL_INBOX	"/codeward/inbox"	/* the agent's (jail/agent.h AGENT_INBOX) */
/* itself in a worker: cw_jail_enter's pid 1 is `codeward-jail -R FD` */
#define JAIL_BIN	"/usr/local/bin/codeward-jail"
/* a jail's sizes as the agent and cw_jail_enter take them: policy.h's
 * floors and ceilings of tmp-size, shm-size and tmp-files */
#define JAIL_SIZE_MIN	(1ULL << 20)
#define JAIL_SIZE_MAX	(16ULL << 30)
#define JAIL_FILES_MIN	64U
#define JAIL_FILES_MAX	(1U << 20)

/* user, pid, mount, ipc, uts and net namespaces; the caller's ids mapped */
int	jail_unshare(void);
/* in the new pid namespace: the mounts, loopback up; 0 or -1 */
int	jail_mounts(const struct jail_conf *);
/* loopback up (already up under gVisor); 0 or -1 */
int	jail_loopback_up(void);
/* the program's own filter: no namespace or mount call of its own */
int	jail_filter(void);
/* every descriptor above 2 closed */
int	jail_close_fds(void);
/* jail_close_fds (with jail_keep_ptc: fds 3 and 4 kept) and
 * no_new_privs, or exit 125 */
void	jail_seal(void);
/* -k: the program's fds 3 and 4 (a programmatic job's pipes) go in */
extern int jail_keep_ptc;
/* every capability out of the bounding set (the program's), or exit */
void	jail_drop_bounding(void);

/* -u, as root under gVisor (jail_gvisor.c): pid, ipc, uts and net
   namespaces, the jail's tree (its path out), the cwd its root */
int	jail_gvisor_unshare(const struct jail_conf *, char *, size_t);
/* in the new pid namespace, the cwd the tree: a fresh /proc, chroot */
int	jail_gvisor_enter(void);
/* the tree's mounts detached, its directory and its /tmp removed */
void	jail_gvisor_release(const struct jail_conf *, const char *);
/* the bounding set emptied, then uid:gid with no capability, or exit 125 */
void	jail_gvisor_drop(uid_t, gid_t);
/* a runsc jail's /tmp: JAIL_GVISOR_TMP_PREFIX, the helper's pid, "-", 16
   hex digits, in the worker's /tmp (the agent's sweep finds them there) */
#define JAIL_GVISOR_TMP		"/tmp"
#define JAIL_GVISOR_TMP_PREFIX	".codeward-jail-"

/* rmtree.c: directory NAME in DFD removed with all in it, no link followed
   (not there: 0) */
int	jail_rmtree(int, const char *);
/* rmtree.c: everything under the directory open on fd removed; it stays */
int	jail_empty(int);

/* enter.c: after jail_unshare (or jail_gvisor_unshare), the init (pid 1)
 * forked and its program (pid 2) under it; returns the init's pid in the
 * caller, 0 in the program (sealed and filtered), -1 when nothing was forked */
pid_t	jail_spawn(const struct jail_conf *);
/*
 * -R ALIVE READY: pid 1 of cw_jail_enter's namespace; says so on READY,
 * then reaps until ALIVE's other end closes
 */
void	jail_reap(int alive, int ready) __attribute__((noreturn));
/* a wait status as an exit code: 128+N for a signal N */
int	jail_exit_code(int status);
/* libcwjail.so: 0 in pid 2 of a fresh jail on dir; the caller never returns */
int	cw_jail_enter(const char *dir, uint64_t tmp, uint64_t shm,
	    uint32_t files);

void	jail_die(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	jail_diex(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
