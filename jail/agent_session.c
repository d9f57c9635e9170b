/*
 * The agent's servers, each a long-lived process of its own started by the
 * agent: a session's, in a jail of its own, and the worker's zygote
 * (agent_zygote.c), outside every jail.
 *
 * A session's jail (issue 15): kept from the worker's first
 * FRAME_JOB_SESSION job to the worker's end, or until a job is killed (its
 * timeout, privd's KILL, its output cap) or the server in it ends; the next
 * job then starts a fresh one on the same directory, so /mnt/data stays
 * and the interpreter's state, /tmp and the session's processes are lost.
 * In it runs the server (cw-run --session: sandbox/runner/python/
 * cw_session.py), one call at a time, each with the job's own stdout and
 * stderr, each answered with one status once the server has killed every
 * other process of the jail and emptied /tmp and /dev/shm: between calls
 * the jail holds its init and the server alone.
 *
 * The control socket: a SOCK_SEQPACKET pair, the server's end its fd 0
 * (codeward-jail passes 0, 1 and 2 only). The agent writes each call (the
 * language and the timeout as text, and the two descriptors) and reads
 * nothing from it but messages of exactly 4 bytes, the status; any other
 * message is dropped, and a descriptor sent with one is closed by the
 * kernel (recv() takes no ancillary data). A call's program runs in the
 * server's process (py) or beside it, as the same user, and can write to
 * that socket too: a status it forges ends its own call early and confuses
 * only its own session. The agent's end is non-blocking: a server that
 * stops reading fails the job, never stalls the agent.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "agent.h"

#define STATUS_DROP_MAX	64	/* other messages dropped per look */

struct agent_srv agent_sess = { 0, -1, "" };

pid_t
agent_spawn(char *const argv[], char *const env[], const int fds[5],
    const char *dir)
{
	sigset_t none;
	pid_t pid;
	int a, b;

	if ((pid = fork()) == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		/* a programmatic job's pipes: out of the way, then 3 and 4 */
		if (fds[3] >= 0 && ((a = fcntl(fds[3], F_DUPFD, 10)) < 0 ||
		    (b = fcntl(fds[4], F_DUPFD, 10)) < 0 || dup2(a, 3) < 0 ||
		    dup2(b, 4) < 0))
			_exit(125);
		if (setpgid(0, 0) < 0 || dup2(fds[0], 0) < 0 ||
		    dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0 || chdir(dir) < 0)
			_exit(125);
		agent_root_child();	/* after the chdir: dir is not root's */
		execve(argv[0], argv, env);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);	/* no race with a kill of the group */
	return pid;
}

int
agent_srv_start(struct agent_srv *s, int jailed, const char *dir,
    const char *runner, const char *mode, int errfd)
{
	char *argv[AGENT_JAIL_ARGC + 3], *env[] = { (char *)"PATH=/usr/local/bin:/usr/bin:/bin",
	    NULL };
	size_t n = 0;
	int sv[2], fds[5] = { -1, -1, -1, -1, -1 }, null;
	pid_t pid;

	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (jailed)
		n = agent_jail_argv(argv, s->dir);
	argv[n++] = (char *)runner;
	argv[n++] = (char *)mode;
	argv[n] = NULL;
	fds[0] = sv[1];
	fds[1] = null;
	fds[2] = errfd >= 0 ? errfd : null;	/* the jail's own complaints */
	pid = agent_spawn(argv, env, fds, s->dir);
	close(sv[1]);
	close(null);
	if (pid < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		close(sv[0]);
		if (pid > 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	s->fd = sv[0];
	s->pid = pid;
	return 0;
}

int
agent_srv_alive(struct agent_srv *s)
{
	if (s->pid <= 0)
		return 0;
	if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
		agent_srv_lost(s);	/* it ended between two jobs */
		return 0;
	}
	return 1;
}

int
agent_srv_call(struct agent_srv *s, const struct agent_job *j, int out,
    int err)
{
	char msg[32];
	int fds[2] = { out, err }, st, n;

	/* a status a program forged after its call is not this call's */
	while (agent_srv_status(s, &st) == 1)
		;
	n = snprintf(msg, sizeof(msg), "%s %u", j->job.lang, j->job.timeout_ms);
	return agent_srv_send(s, msg, (size_t)n, fds, 2);
}

int
agent_srv_send(struct agent_srv *s, const char *msg, size_t n,
    const int *fds, size_t nfds)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(AGENT_SRV_FDS * sizeof(int))];
	} u;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;

	if (nfds == 0 || nfds > AGENT_SRV_FDS)
		return -1;
	iov.iov_base = (void *)msg;
	iov.iov_len = n;
	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.b;
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	return sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n ?
	    0 : -1;
}

int
agent_srv_status(struct agent_srv *s, int *st)
{
	unsigned char b[8];
	int32_t v;
	ssize_t n;
	int i;

	for (i = 0; i < STATUS_DROP_MAX; i++) {
		n = recv(s->fd, b, sizeof(b), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		if (n != 4)
			continue;	/* not a status: dropped */
		memcpy(&v, b, sizeof(v));
		*st = (v >= -64 && v <= 255) ? (int)v : 255;
		return 1;
	}
	return 0;
}

void
agent_srv_end(struct agent_srv *s)
{
	if (s->pid > 0) {
		kill(-s->pid, SIGKILL);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	agent_srv_lost(s);
}

void
agent_srv_lost(struct agent_srv *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->pid = 0;
}
