/*
 * The worker's zygote (with -j): one Python per worker, started by the
 * agent as the sandbox user outside every jail (cw-run --zygote:
 * sandbox/runner/python/cw_jzygote.py), that imports the data stack once
 * and then forks each stateless py job into a fresh jail of its own
 * (libcwjail.so's cw_jail_enter, jail/enter.c): per job a fork and the
 * jail's namespaces, not a new interpreter and its imports.
 *
 * The socket: a SOCK_SEQPACKET pair, the zygote's end its fd 0. The zygote
 * says b"ready" once; the agent sends a job as "DIR TIMEOUT_MS TMP SHM FILES"
 * (the jail's sizes, the agent's -t, -s and -f) with the job's stdin, stdout
 * and stderr; the zygote answers b"P" and the child's
 * pid (with a pidfd of it when it could make one), later b"S" and the
 * child's wait status, or b"E" for a request it refused. Every answer is 5
 * bytes. The zygote runs no job's code, so what it says is believed as far
 * as this: a pid is only signalled while its status has not come, and by
 * its pidfd when there is one (the zygote reaps the child before it sends
 * the status: a bare pid could be reused by then).
 *
 * A zygote that is not ready (still importing) or has died: the job goes
 * the cold way (codeward-jail and cw-run py), and the agent starts a new
 * zygote while idle after it. One that could not enter a jail at its start
 * (b"unfit": gVisor 2022 has no mount namespace for it) is not started
 * again: every py job goes cold.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "agent.h"

#define ZYG_ANSWER	5
#define ZYG_PID_MS	5000	/* a fork answered within this, or it goes */

struct agent_srv agent_zyg = { 0, -1, "" };
static int zyg_ready, zyg_unfit;

void
agent_zyg_start(void)
{
	if (zyg_unfit || agent_srv_alive(&agent_zyg))
		return;
	zyg_ready = 0;
	agent_srv_start(&agent_zyg, 0, "/", AGENT_ZYG_RUNNER, "--zygote", -1);
}

static void
zyg_end(void)
{
	agent_srv_end(&agent_zyg);
	zyg_ready = 0;
}

/* one answer: its tag, its value, a descriptor sent with it into *fd */
static int
answer(char *tag, int32_t *v, int *fd)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} u;
	unsigned char b[8];
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov = { b, sizeof(b) };
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	while ((n = recvmsg(agent_zyg.fd, &mh, MSG_DONTWAIT |
	    MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
			if (fd != NULL && *fd < 0)
				memcpy(fd, CMSG_DATA(cm), sizeof(int));
			else {
				int drop;

				memcpy(&drop, CMSG_DATA(cm), sizeof(int));
				close(drop);
			}
		}
	if (n == 5 && (memcmp(b, "ready", 5) == 0 || memcmp(b, "unfit", 5) == 0)) {
		*tag = (char)(b[0] == 'r' ? 'R' : 'U');
		return 1;
	}
	if (n != ZYG_ANSWER || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -1;
	*tag = (char)b[0];
	memcpy(v, b + 1, sizeof(*v));
	return 1;
}

int
agent_zyg_ready(void)
{
	int32_t v;
	char tag;
	int rc;

	if (agent_zyg.fd < 0)
		return 0;
	/* what it said before it ended is read first: "unfit" counts */
	if (!zyg_ready) {
		if ((rc = answer(&tag, &v, NULL)) < 0 ||
		    (rc == 1 && tag != 'R')) {
			zyg_unfit = rc == 1 && tag == 'U';	/* never again */
			zyg_end();
			return 0;
		}
		zyg_ready = rc;
	}
	if (!agent_srv_alive(&agent_zyg)) {
		zyg_ready = 0;
		return 0;
	}
	return zyg_ready;
}

pid_t
agent_zyg_call(const struct agent_job *j, int out, int err, int *pidfd)
{
	struct pollfd pfd;
	uint64_t until = agent_now_ms() + ZYG_PID_MS, now;
	char msg[160], tag;
	int fds[3], n, rc;
	int32_t v;

	*pidfd = -1;
	if ((fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	fds[1] = out;
	fds[2] = err;
	n = snprintf(msg, sizeof(msg), "%s %u %s %s %s", j->dir,
	    j->job.timeout_ms, agent_sizes.tmp, agent_sizes.shm,
	    agent_sizes.files);
	rc = agent_srv_send(&agent_zyg, msg, (size_t)n, fds, 3);
	close(fds[0]);
	if (rc < 0) {		/* nothing forked: the job can go cold */
		zyg_end();
		return -1;
	}
	pfd.fd = agent_zyg.fd;
	pfd.events = POLLIN;
	while ((now = agent_now_ms()) < until) {
		if (poll(&pfd, 1, (int)(until - now)) < 0 && errno != EINTR)
			break;
		if ((rc = answer(&tag, &v, pidfd)) == 0)
			continue;
		if (rc == 1 && tag == 'P' && v > 0)
			return (pid_t)v;
		break;
	}
	/* refused, gone or stuck: it goes; a child it forked has waited for
	 * the word the zygote sends only after "P", and dies with it
	 * (parent-death signal): the job is untouched and can go cold */
	if (*pidfd >= 0)
		close(*pidfd);
	*pidfd = -1;
	zyg_end();
	return -1;
}

int
agent_zyg_status(int *wstatus)
{
	int32_t v;
	char tag;
	int rc;

	if (agent_zyg.fd < 0)
		return -1;
	if ((rc = answer(&tag, &v, NULL)) == 0)
		return 0;
	if (rc == 1 && tag == 'S') {
		*wstatus = (int)v;
		return 1;
	}
	zyg_end();
	return -1;
}

void
agent_zyg_kill(pid_t pid, int pidfd)
{
	if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL,
	    0) == 0)
		return;
	if (pidfd >= 0 && errno == ESRCH)
		return;		/* it has ended already */
	kill(pid, SIGKILL);
}
