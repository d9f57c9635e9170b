/*
 * A session's jail (issue 15): kept from the worker's first
 * FRAME_JOB_SESSION job to the worker's end, or until a job is killed (its
 * timeout, privd's KILL, its output cap) or the server in it ends; the next
 * job then starts a fresh one on the same directory, so /mnt/data stays
 * and the interpreter's state, /tmp and the session's processes are lost.
 * In it runs the server (cw-run --session: sandbox/runner/python/
 * cw_session.py), one call at a time, each with the job's own stdout and
 * stderr, each answered with one status.
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

#include "agent.h"

#define STATUS_DROP_MAX	64	/* other messages dropped per look */

static pid_t sess_pid;
static int sess_fd = -1;

pid_t
agent_session_pid(void)
{
	return sess_pid;
}

int
agent_session_fd(void)
{
	return sess_fd;
}

pid_t
agent_spawn(char *const argv[], char *const env[], const int fds[3],
    const char *dir)
{
	sigset_t none;
	pid_t pid;

	if ((pid = fork()) == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		if (setpgid(0, 0) < 0 || dup2(fds[0], 0) < 0 ||
		    dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0 || chdir(dir) < 0)
			_exit(125);
		execve(argv[0], argv, env);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);	/* no race with a kill of the group */
	return pid;
}

pid_t
agent_session_start(const struct agent_job *j, int errfd)
{
	char *argv[8], *env[] = { (char *)"PATH=/usr/local/bin:/usr/bin:/bin",
	    NULL };
	size_t n = 0;
	int sv[2], fds[3], null;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (j->jailed) {
		argv[n++] = (char *)AGENT_JAIL;
		argv[n++] = (char *)"-w";
		argv[n++] = (char *)j->dir;
		argv[n++] = (char *)"--";
	}
	argv[n++] = (char *)AGENT_RUNNER;
	argv[n++] = (char *)"--session";
	argv[n] = NULL;
	fds[0] = sv[1];
	fds[1] = null;
	fds[2] = errfd;		/* the jail's own complaints go to the first job */
	pid = agent_spawn(argv, env, fds, j->dir);
	close(sv[1]);
	close(null);
	if (pid < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		close(sv[0]);
		if (pid > 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
		return -1;
	}
	sess_fd = sv[0];
	sess_pid = pid;
	return pid;
}

int
agent_session_call(const struct agent_job *j, int out, int err)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	char msg[32];
	int fds[2] = { out, err }, st, n;

	/* a status a program forged after its call is not this call's */
	while (agent_session_status(&st) == 1)
		;
	n = snprintf(msg, sizeof(msg), "%s %u", j->job.lang, j->job.timeout_ms);
	iov.iov_base = msg;
	iov.iov_len = (size_t)n;
	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	return sendmsg(sess_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == n ? 0 : -1;
}

int
agent_session_status(int *st)
{
	unsigned char b[8];
	int32_t v;
	ssize_t n;
	int i;

	for (i = 0; i < STATUS_DROP_MAX; i++) {
		n = recv(sess_fd, b, sizeof(b), MSG_DONTWAIT);
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
agent_session_lost(void)
{
	if (sess_fd >= 0)
		close(sess_fd);
	sess_fd = -1;
	sess_pid = 0;
}
