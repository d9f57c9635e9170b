/*
 * Entering a jail: the process tree codeward-jail runs its program in, and
 * the same jail entered in-process by a forked Python (libcwjail.so, loaded
 * by the worker's zygote: sandbox/runner/python/cw_jzygote.py).
 *
 * After jail_unshare the caller forks the new pid namespace's init (pid 1),
 * which mounts, forks the program (pid 2) and reaps until pid 2 has exited,
 * then exits with its status: the kernel kills whatever else is left in the
 * namespace. The init dies with the caller (parent-death signal), so a kill
 * of the caller ends the whole execution.
 *
 * cw_jail_enter, in a fork of a Python with its imports, copies that
 * address space once less: the caller mounts, pid 1 is `codeward-jail -R`
 * started from a vfork (nothing copied), and the program, pid 2, is the
 * caller's own fork; the caller waits for it, then kills pid 1, which ends
 * the namespace. pid 1 also ends when the caller goes (a pipe's end, and
 * the parent-death signal).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "jail.h"

int
jail_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

/*
 * Every capability the new user namespace gave, gone: execve as a non-zero
 * uid would clear them for codeward-jail's program, but a zygote's child
 * never execs (without this it could, say, configure netfilter in its own
 * network namespace: kernel code a cold jail's program cannot reach).
 */
static int
drop_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	/* gVisor (2022) has no ambient set: nothing in it to clear */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return -1;
	jail_drop_bounding();		/* under -u already empty */
	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

/* pid 2: no descriptor but 0, 1, 2, no signal blocked, no capability,
 * its own filter */
static void
program(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	jail_seal();
	if (drop_caps() == -1)
		jail_die("capabilities");
	if (jail_filter() == -1)
		jail_diex("seccomp filter refused");
}

/* -u: /proc and chroot, loopback, then init and the program as UID:GID */
static int
gvisor_init(const struct jail_conf *c)
{
	if (jail_gvisor_enter() == -1)
		return -1;
	if (jail_loopback_up() == -1) {
		dprintf(STDERR_FILENO, "codeward-jail: loopback up: %s\n",
		    strerror(errno));
		return -1;
	}
	jail_gvisor_drop(c->uid, c->gid);
	return chdir(JAIL_WORKDIR);
}

/* pid 1 of the new pid namespace: mounts, the program, then reaps */
static void
init(const struct jail_conf *c, int alive)
{
	struct pollfd pfd = { .fd = alive, .events = POLLIN };
	pid_t prog, pid;
	int status;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		jail_die("parent-death signal");
	if (poll(&pfd, 1, 0) != 0)	/* the parent left before the prctl */
		_exit(125);
	if (c->as_root ? gvisor_init(c) == -1 : jail_mounts(c) == -1)
		_exit(125);
	if ((prog = fork()) == -1)
		jail_die("fork");
	if (prog == 0) {
		close(alive);
		program();
		return;
	}
	close(alive);
	if (jail_close_fds() == -1)
		_exit(125);
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid == -1)
			_exit(125);
		if (pid == prog)
			_exit(jail_exit_code(status));
	}
}

pid_t
jail_spawn(const struct jail_conf *c)
{
	int alive[2];
	pid_t pid;

	/* the write end stays open in the caller until it exits */
	if (pipe2(alive, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(alive[0]);
		close(alive[1]);
		return -1;
	}
	if (pid > 0) {
		close(alive[0]);
		return pid;
	}
	close(alive[1]);
	init(c, alive[0]);
	return 0;
}

static void
on_child(int sig)
{
	(void)sig;	/* only to end ppoll */
}

void
jail_reap(int alive, int ready)
{
	struct pollfd pfd = { .fd = alive, .events = POLLIN };
	struct sigaction sa;
	sigset_t chld, none;
	int i;

	/*
	 * Before the program exists: not dumpable (so the program, of the same
	 * uid in the same user namespace, cannot ptrace it) and under the
	 * jail's own filter (what it would run, were it reached, the program
	 * could run itself); then the caller may fork the program
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 || jail_filter() == -1 ||
	    write(ready, "r", 1) != 1)
		_exit(125);
	close(ready);
	/* nothing of the job's: its output ends when its program's does */
	for (i = 0; i < 3; i++)
		close(i);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigemptyset(&none);
	for (;;) {
		/* orphans of the program, reparented here */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		/* SIGCHLD (EINTR) or the caller's end of the pipe */
		if (ppoll(&pfd, 1, NULL, &none) > 0)
			_exit(0);	/* the caller is gone: so is the namespace */
	}
}

/*
 * pid 1 for cw_jail_enter: codeward-jail -R ALIVE READY, from a vfork; its
 * pid once it said it is ready (unreachable by the program, filtered)
 */
static pid_t
spawn_reaper(void)
{
	char a[16], r[16], *argv[] = { (char *)JAIL_BIN, (char *)"-R", a, r, NULL };
	char *envp[] = { NULL }, c;
	int alive[2], ready[2];
	pid_t pid;

	if (pipe(alive) == -1)
		return -1;
	if (pipe(ready) == -1) {
		close(alive[0]);
		close(alive[1]);
		return -1;
	}
	snprintf(a, sizeof(a), "%d", alive[0]);
	snprintf(r, sizeof(r), "%d", ready[1]);
	if ((pid = vfork()) == 0) {
		close(alive[1]);
		close(ready[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
			_exit(125);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(alive[0]);
	close(ready[1]);
	/* alive[1] stays open in the caller (the program's seal closes it) */
	if (pid == -1 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		close(alive[1]);
		if (pid > 0)
			kill(pid, SIGKILL);
		return -1;
	}
	close(ready[0]);
	return pid;
}

/*
 * libcwjail.so's one entry point, for a process forked to run one job: its
 * 0, 1, 2 the job's, DIR the job's own directory (owned by the caller).
 * Returns 0 in pid 2 of a fresh jail on DIR (/tmp of TMP bytes, /dev/shm of
 * SHM bytes, at most FILES inodes each: the zygote has them from the agent,
 * codeward-jail's -t, -s, -f; no /proc), in a session of its own, every
 * other descriptor closed, no_new_privs and the jail's filter loaded; the
 * caller itself waits there for the init and exits with its status (never
 * returns); -1 with errno when nothing was made (EINVAL: DIR not absolute,
 * a size outside JAIL_SIZE_MIN..JAIL_SIZE_MAX, FILES outside
 * JAIL_FILES_MIN..JAIL_FILES_MAX).
 */
int
cw_jail_enter(const char *dir, uint64_t tmp, uint64_t shm, uint32_t files)
{
	struct jail_conf c = {
		.workdir = dir, .tmp_size = tmp, .shm_size = shm, .files = files,
	};
	int status;
	pid_t pid, reaper;

	if (dir == NULL || dir[0] != '/' || tmp < JAIL_SIZE_MIN ||
	    tmp > JAIL_SIZE_MAX || shm < JAIL_SIZE_MIN || shm > JAIL_SIZE_MAX ||
	    files < JAIL_FILES_MIN || files > JAIL_FILES_MAX) {
		errno = EINVAL;
		return -1;
	}
	jail_seal();
	/* a session and process group of its own: kill(0), setpriority and
	 * ioprio_set on a group reach members outside the pid namespace */
	if (setsid() == -1 || jail_unshare() == -1)
		return -1;
	/* this process is in the new mount and network namespaces: it mounts */
	if (jail_mounts(&c) == -1)
		_exit(125);
	if ((reaper = spawn_reaper()) == -1)
		_exit(125);
	if ((pid = fork()) == -1) {
		kill(reaper, SIGKILL);
		_exit(125);
	}
	if (pid == 0) {
		program();
		return 0;
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			_exit(125);
	/* pid 1 gone: the kernel ends whatever the program left */
	kill(reaper, SIGKILL);
	while (waitpid(reaper, NULL, 0) == -1 && errno == EINTR)
		;
	_exit(jail_exit_code(status));
}
