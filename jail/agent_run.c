/*
 * One program of codeward-agent: the runner started in its own process
 * group (under codeward-jail with -j), its stdout and stderr streamed as
 * frames, killed at the job's timeout, at its output cap or at privd's
 * KILL; whatever it left in its group is killed when it ends. In a session
 * the call goes to the session's server instead (agent_session.c) and ends
 * at its status: what is in the pipes then is read, and the jail stays; a
 * kill ends the whole jail. A stateless py job the worker's zygote forked
 * (agent_zygote.c) is no child of the agent: it is killed by its pidfd
 * (or pid), and its end is the wait status the zygote sends. A
 * programmatic job's program has two pipes more, its fd 3 (lines up, as
 * TOOL frames, one at a time) and its fd 4 (each RESULT's line); while a
 * TOOL waits for its RESULT the job's time stands still.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "agent.h"

struct run {
	struct agent_job *j;
	pid_t		pid;
	int		pidfd;		/* a zygote's child's, or -1 */
	int		status;
	int		reaped;
	int		reason;
	int		done, ctl_dead, st;	/* a session's status came: st */
	uint64_t	start, deadline, drain_until;
	uint64_t	output;
	int		fd[2];		/* stdout, stderr pipes; -1 once closed */
	/* a programmatic job's: fd 3's and fd 4's ends, -1 when none */
	int		tfd, rfd;
	unsigned char	*tl, *rl;	/* fd 3's bytes read; fd 4's to write */
	size_t		tlen, rlen, roff;
	int		waiting;	/* a TOOL went: its RESULT is due */
	uint64_t	paused;		/* since then */
};

static void
kill_all(struct run *r, int reason)
{
	if (r->reason == FRAME_REASON_NONE)
		r->reason = reason;
	if (r->reaped)
		return;
	if (r->j->zyg) {		/* the jail dies with its first process */
		agent_zyg_kill(r->pid, r->pidfd);
		return;
	}
	kill(-r->pid, SIGKILL);		/* the group, then the leader */
	kill(r->pid, SIGKILL);
}

static pid_t
start(struct agent_job *j, int in_env, int out[2], int err[2], const int ptc[2])
{
	char tmo[32], lang[32], *code = NULL, *env[5];
	char *argv[AGENT_JAIL_ARGC + 4 + FRAME_ARGS_MAX];
	size_t n = 0, e = 0, off;
	int a;
	int fds[5];
	pid_t pid;

	snprintf(tmo, sizeof(tmo), "CW_TIMEOUT_MS=%u", j->job.timeout_ms);
	snprintf(lang, sizeof(lang), "CW_LANG=%s", j->job.lang);
	if (in_env) {
		if ((code = malloc(j->code_len + 9)) == NULL)
			return -1;
		memcpy(code, "CW_CODE=", 8);
		memcpy(code + 8, j->code, j->code_len);
		code[8 + j->code_len] = '\0';
	}
	env[e++] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
	env[e++] = tmo;
	env[e++] = lang;
	if (code != NULL)
		env[e++] = code;
	env[e] = NULL;
	if (j->jailed)
		n = agent_jail_argv(argv, j->dir);
	if (j->jailed && j->ptc) {	/* fds 3 and 4 into the jail */
		argv[n - 1] = (char *)"-k";
		argv[n++] = (char *)"--";
	}
	argv[n++] = (char *)AGENT_RUNNER;
	argv[n++] = j->job.lang;
	for (a = 0, off = 0; a < j->argc; a++) {	/* the request's args */
		argv[n++] = j->args + off;
		off += strlen(j->args + off) + 1;
	}
	argv[n] = NULL;
	if ((fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		free(code);
		return -1;
	}
	fds[1] = out[1];
	fds[2] = err[1];
	fds[3] = ptc[0];
	fds[4] = ptc[1];
	pid = agent_spawn(argv, env, fds, j->dir);
	close(fds[0]);
	free(code);
	return pid;
}

/*
 * The job's program: a fresh jail (or none, without -j), forked by the
 * zygote or started cold (also when the zygote fails it), or a call to the
 * session's server (kept, or started now).
 */
static pid_t
begin(struct agent_job *j, int out[2], int err[2], const int ptc[2],
    int *pidfd)
{
	struct agent_srv *s = j->srv;
	pid_t pid;
	int in_env;

	if (agent_stage_seal(j, &in_env) < 0)
		return -1;
	/* the zygote's child takes no argv: a job with args runs cold */
	if (j->zyg && j->argc == 0) {
		if ((pid = agent_zyg_call(j, out[1], err[1], pidfd)) > 0)
			return pid;
	}
	j->zyg = 0;
	if (s == NULL)
		return start(j, in_env, out, err, ptc);
	if (!agent_srv_alive(s)) {
		if (agent_srv_start(s, j->jailed, j->dir, AGENT_RUNNER,
		    "--session", err[1]) < 0)
			return -1;
	}
	if (agent_srv_call(s, j, out[1], err[1]) < 0) {
		agent_srv_end(s);
		return -1;
	}
	return s->pid;
}

/* one read of a pipe: its bytes as frames, up to the cap; what read said */
static ssize_t
pump(struct run *r, int i, unsigned char *buf)
{
	uint64_t cap = r->j->job.output_max;
	ssize_t n = read(r->fd[i], buf, FRAME_PIECE_MAX), got = n;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return -1;
	if (n <= 0) {
		close(r->fd[i]);
		r->fd[i] = -1;
		return 0;
	}
	if (r->output >= cap)
		return got;		/* past the cap: read and dropped */
	if ((uint64_t)n > cap - r->output) {
		n = (ssize_t)(cap - r->output);
		kill_all(r, FRAME_REASON_OUTPUT);
	}
	r->output += (uint64_t)n;
	if (n > 0)
		agent_send(i == 0 ? FRAME_STDOUT : FRAME_STDERR, buf, (size_t)n);
	return got;
}

/*
 * A session's call ended: what its program wrote before the status is in
 * the pipes; read that, for at most AGENT_DRAIN_MS (a process it left may
 * go on writing), and no more.
 */
static void
drain(struct run *r, unsigned char *buf)
{
	uint64_t until = agent_now_ms() + AGENT_DRAIN_MS;
	int i;

	for (i = 0; i < 2; i++)
		while (r->fd[i] >= 0 && pump(r, i, buf) > 0 &&
		    agent_now_ms() < until)
			;
}

/* the session's socket is readable: its status, or its end */
static void
status(struct run *r)
{
	switch (agent_srv_status(r->j->srv, &r->st)) {
	case 1:
		r->done = 1;
		break;
	case -1:
		r->ctl_dead = 1;	/* no call can reach it: it goes */
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
		break;
	}
}

/* the zygote's word on its child: its status, or its own end */
static void
zyg_status(struct run *r)
{
	switch (agent_zyg_status(&r->status)) {
	case 1:
		break;
	case 0:
		return;
	default:		/* the zygote went, and its child with it */
		kill_all(r, FRAME_REASON_FAILED);
		r->status = SIGKILL;
		break;
	}
	r->reaped = 1;
	r->drain_until = agent_now_ms() + AGENT_DRAIN_MS;
}

static void
reap(struct run *r)
{
	int st;

	if (r->j->zyg)
		return;
	while (!r->reaped && waitpid(r->pid, &st, WNOHANG) == r->pid) {
		r->status = st;
		r->reaped = 1;
		/* what it left in its group goes with it */
		kill(-r->pid, SIGKILL);
		r->drain_until = agent_now_ms() + AGENT_DRAIN_MS;
	}
}

/* a killed zygote child's status, or the zygote ended without it */
static void
zyg_wait(struct run *r)
{
	struct pollfd pfd = { .fd = agent_zyg.fd, .events = POLLIN };
	uint64_t until = agent_now_ms() + 2000;

	while (!r->reaped && agent_now_ms() < until) {
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			break;
		zyg_status(r);
		pfd.fd = agent_zyg.fd;
	}
	if (!r->reaped) {	/* the child dies with it (parent-death signal) */
		agent_srv_end(&agent_zyg);
		r->status = SIGKILL;
		r->reaped = 1;
	}
}

/* a whole line in fd 3's bytes, and no TOOL open: up as one TOOL frame */
static void
tool_line(struct run *r)
{
	unsigned char *nl;
	size_t n;

	if (r->waiting || r->reaped || r->tlen == 0 ||
	    (nl = memchr(r->tl, '\n', r->tlen)) == NULL)
		return;
	n = (size_t)(nl - r->tl) + 1;
	agent_send(FRAME_TOOL, r->tl, n);
	memmove(r->tl, r->tl + n, r->tlen - n);
	r->tlen -= n;
	r->waiting = 1;
	r->paused = agent_now_ms();
}

/* fd 3 is readable: its bytes kept, a line past FRAME_LINE_MAX ends the job */
static void
tool_read(struct run *r, unsigned char *buf)
{
	unsigned char *p;
	ssize_t n = read(r->tfd, buf, FRAME_PIECE_MAX);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(r->tfd);
		r->tfd = -1;
		return;
	}
	if (r->tlen + (size_t)n > FRAME_LINE_MAX ||
	    (p = realloc(r->tl, r->tlen + (size_t)n)) == NULL) {
		close(r->tfd);
		r->tfd = -1;
		kill_all(r, FRAME_REASON_OUTPUT);
		return;
	}
	memcpy(p + r->tlen, buf, (size_t)n);
	r->tl = p;
	r->tlen += (size_t)n;
	tool_line(r);
}

/* privd's RESULT: the job's time goes on, the line goes to fd 4 */
static void
tool_result(struct run *r)
{
	unsigned char *p, *line;
	size_t n;

	line = agent_result_take(&n);
	if (r->waiting) {	/* the wait was not the program's time */
		r->deadline += agent_now_ms() - r->paused;
		r->start += agent_now_ms() - r->paused;
	}
	r->waiting = 0;
	if (n == 0 && r->rfd >= 0) {		/* fd 4 closed: the end */
		close(r->rfd);
		r->rfd = -1;
	} else if (n > 0 && r->rfd >= 0 &&
	    (p = realloc(r->rl, r->rlen - r->roff + n)) != NULL) {
		memmove(p, p + r->roff, r->rlen - r->roff);
		memcpy(p + r->rlen - r->roff, line, n);
		r->rl = p;
		r->rlen = r->rlen - r->roff + n;
		r->roff = 0;
	}
	free(line);
	tool_line(r);
}

/* fd 4 is writable: what is due; a program that closed it gets no more */
static void
tool_write(struct run *r)
{
	ssize_t n = write(r->rfd, r->rl + r->roff, r->rlen - r->roff);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0) {
		close(r->rfd);
		r->rfd = -1;
		return;
	}
	r->roff += (size_t)n;
}

static void
loop(struct run *r, int chin, int sigfd, unsigned char *buf)
{
	struct pollfd pf[7];
	struct frame_hdr h;
	uint64_t now, until;
	int i, ms;
	char drop[64];

	while (!r->reaped || r->fd[0] >= 0 || r->fd[1] >= 0) {
		now = agent_now_ms();
		if (!r->reaped && !r->waiting && now >= r->deadline)
			kill_all(r, FRAME_REASON_TIMEOUT);
		if (r->reaped && now >= r->drain_until)
			break;	/* something that escaped the group holds a pipe */
		until = r->reaped ? r->drain_until : r->deadline;
		ms = until > now ? (int)(until - now) : 0;
		if (!r->reaped && r->waiting)
			ms = 1000;	/* no time runs: privd's KILL ends a wait */
		if (!r->reaped && r->reason != FRAME_REASON_NONE)
			ms = ms > 50 ? 50 : ms;
		pf[0].fd = r->fd[0];
		pf[1].fd = r->fd[1];
		pf[2].fd = sigfd;
		pf[3].fd = chin;
		pf[4].fd = r->j->session && !r->ctl_dead && !r->reaped ?
		    r->j->srv->fd : -1;
		if (r->j->zyg && !r->reaped)
			pf[4].fd = agent_zyg.fd;
		pf[5].fd = r->waiting || r->reaped ? -1 : r->tfd;
		pf[6].fd = r->rlen > r->roff ? r->rfd : -1;
		for (i = 0; i < 7; i++) {
			pf[i].events = i == 6 ? POLLOUT : POLLIN;
			pf[i].revents = 0;
		}
		if (poll(pf, 7, ms) < 0 && errno != EINTR)
			_exit(3);
		if (pf[5].revents & (POLLIN | POLLHUP | POLLERR))
			tool_read(r, buf);
		if (pf[6].revents & (POLLOUT | POLLHUP | POLLERR))
			tool_write(r);
		for (i = 0; i < 2; i++)
			if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP)))
				pump(r, i, buf);
		if (pf[2].revents & POLLIN)
			while (read(sigfd, drop, sizeof(drop)) > 0)
				;
		if (pf[3].revents & (POLLIN | POLLHUP)) {
			agent_recv(&h, buf);	/* the grammar: KILL or RESULT */
			if (h.type == FRAME_RESULT)
				tool_result(r);
			else
				kill_all(r, FRAME_REASON_KILLED);
		}
		if ((pf[4].revents & (POLLIN | POLLHUP | POLLERR)) && r->j->zyg)
			zyg_status(r);
		else if (pf[4].revents & (POLLIN | POLLHUP | POLLERR))
			status(r);
		reap(r);
		if (r->done && !r->reaped && r->reason == FRAME_REASON_NONE) {
			drain(r, buf);
			break;
		}
	}
	for (i = 0; i < 2; i++)
		if (r->fd[i] >= 0)
			close(r->fd[i]);
	if (!r->reaped && r->j->zyg) {
		kill_all(r, FRAME_REASON_KILLED);
		zyg_wait(r);
	}
	if (!r->reaped && (!r->done || r->reason != FRAME_REASON_NONE)) {
		kill_all(r, FRAME_REASON_KILLED);
		waitpid(r->pid, &r->status, 0);
		r->reaped = 1;
	}
	if (r->j->srv != NULL && r->reaped && r->j->srv->pid == r->pid)
		agent_srv_lost(r->j->srv);
}

static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* a programmatic job's two pipes, [0] the program's fd 3, [1] its fd 4 */
static int
tool_pipes(struct agent_job *j, int t[2], int res[2], int ends[2])
{
	ends[0] = ends[1] = -1;
	if (!j->ptc)
		return 0;
	if (pipe2(t, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
		return -1;
	ends[0] = t[1];
	ends[1] = res[0];
	return 0;
}

void
agent_run(struct agent_job *j, int chin, int sigfd, unsigned char *buf)
{
	struct run r;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int t[2] = { -1, -1 }, res[2] = { -1, -1 }, ends[2];

	memset(&r, 0, sizeof(r));
	r.j = j;
	r.pidfd = -1;
	r.tfd = r.rfd = -1;
	r.start = agent_now_ms();
	r.deadline = r.start + j->job.timeout_ms;
	memset(&j->exit, 0, sizeof(j->exit));
	if (j->failed || j->killed || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0 || tool_pipes(j, t, res, ends) < 0 ||
	    (r.pid = begin(j, out, err, ends, &r.pidfd)) < 0) {
		j->exit.code = 125;
		j->exit.reason = j->killed ? FRAME_REASON_KILLED : FRAME_REASON_FAILED;
		close_pair(out);
		close_pair(err);
		close_pair(t);
		close_pair(res);
		return;
	}
	close(out[1]);
	close(err[1]);
	if (j->ptc) {
		close(t[1]);
		close(res[0]);
		r.tfd = t[0];
		r.rfd = res[1];
		fcntl(r.tfd, F_SETFL, O_NONBLOCK);
		fcntl(r.rfd, F_SETFL, O_NONBLOCK);
	}
	r.fd[0] = out[0];
	r.fd[1] = err[0];
	fcntl(r.fd[0], F_SETFL, O_NONBLOCK);
	fcntl(r.fd[1], F_SETFL, O_NONBLOCK);
	loop(&r, chin, sigfd, buf);
	if (r.pidfd >= 0)
		close(r.pidfd);
	if (r.tfd >= 0)
		close(r.tfd);
	if (r.rfd >= 0)
		close(r.rfd);
	free(r.tl);
	free(r.rl);
	/* the time it waited for its tools is not the program's */
	if (r.waiting)
		r.start += agent_now_ms() - r.paused;
	j->exit.ms = (uint32_t)(agent_now_ms() - r.start);
	j->exit.reason = (uint8_t)r.reason;
	if (r.done && !r.reaped) {		/* the session goes on */
		if (r.st < 0)
			j->exit.signal = (uint8_t)-r.st;
		else
			j->exit.code = (uint8_t)r.st;
	} else if (WIFSIGNALED(r.status))
		j->exit.signal = (uint8_t)WTERMSIG(r.status);
	else
		j->exit.code = (uint8_t)WEXITSTATUS(r.status);
}
