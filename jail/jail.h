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
};

#define JAIL_WORKDIR	"/mnt/data"

/* user, pid, mount, ipc, uts and net namespaces; the caller's ids mapped */
int	jail_unshare(void);
/* in the new pid namespace: the mounts, loopback up; 0 or -1 */
int	jail_mounts(const struct jail_conf *);
/* the program's own filter: no namespace or mount call of its own */
int	jail_filter(void);
/* every descriptor above 2 closed */
int	jail_close_fds(void);
/* jail_close_fds and no_new_privs, or exit 125 */
void	jail_seal(void);

/* enter.c: after jail_unshare, the init (pid 1) forked and its program
 * (pid 2) under it; returns the init's pid in the caller, 0 in the program
 * (sealed and filtered), -1 when nothing was forked */
pid_t	jail_spawn(const struct jail_conf *);
/* a wait status as an exit code: 128+N for a signal N */
int	jail_exit_code(int status);
/* libcwjail.so: 0 in pid 2 of a fresh jail on dir; the caller never returns */
int	cw_jail_enter(const char *dir);

void	jail_die(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	jail_diex(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
