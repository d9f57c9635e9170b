/*
 * One job on a worker (privd/worker.c's worker_job) against a fake agent
 * on the other end of a socketpair, each way a job can end: EXIT and
 * READY (the output memfd behind Docker's stream headers); the agent's own
 * kill late, so privd's KILL ends it (DONE_KILLED); no answer even to the
 * KILL (HUNG, in about the grace); the channel closed under the program
 * (LOST); a frame outside the grammar (LOST, the violation named); a
 * channel already gone before the job (NOT_SENT: nothing ran). A
 * programmatic job's TOOL line relayed to a fake frontd (ptcrelay.c) and
 * its answer back as a RESULT, the wait (past the job's timeout) not
 * counted; frontd's cancel instead: the job ended by a KILL, marked so.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ptcrelay.h"
#include "util.h"
#include "worker.h"

#include "../lib/check.h"

enum fake { F_ANSWER, F_AT_KILL, F_SILENT, F_CLOSE, F_VIOLATE, F_TOOL };

struct agent {
	int		fd;
	enum fake	how;
	int		saw_kill;
	int		saw_result;
};

#define TOOL_LINE	"{\"calls\":[]}\n"

static void
put(int fd, uint8_t type, const void *p, size_t n)
{
	unsigned char h[FRAME_HDR];

	frame_hdr_write(h, type, (uint32_t)n);
	(void)cw_write_all(fd, h, sizeof(h));
	if (n > 0)
		(void)cw_write_all(fd, p, n);
}

/* the next frame privd sent: its type, its payload skipped; -1 at the end */
static int
next_type(int fd)
{
	unsigned char h[FRAME_HDR], skip[4096];
	uint32_t len;

	if (cw_read_all(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		return -1;
	len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
	while (len > 0) {
		size_t k = len < sizeof(skip) ? len : sizeof(skip);

		if (cw_read_all(fd, skip, k) != (ssize_t)k)
			return -1;
		len -= (uint32_t)k;
	}
	return h[0];
}

static void
finish(int fd, uint8_t reason)
{
	struct frame_exit e = { 0, 0, reason, 1 };
	unsigned char ex[FRAME_EXIT_LEN];

	if (reason == FRAME_REASON_KILLED)
		e.signal = 9;
	frame_exit_write(ex, &e);
	put(fd, FRAME_EXIT, ex, sizeof(ex));
	put(fd, FRAME_READY, NULL, 0);
}

static void *
agent(void *arg)
{
	struct agent *a = arg;
	int t;

	while ((t = next_type(a->fd)) >= 0 && t != FRAME_RUN)
		;
	switch (a->how) {
	case F_ANSWER:
		put(a->fd, FRAME_STDOUT, "hi\n", 3);
		finish(a->fd, FRAME_REASON_NONE);
		break;
	case F_AT_KILL:
		put(a->fd, FRAME_STDOUT, "a", 1);
		if (next_type(a->fd) == FRAME_KILL) {
			a->saw_kill = 1;
			finish(a->fd, FRAME_REASON_KILLED);
		}
		break;
	case F_SILENT:
		a->saw_kill = next_type(a->fd) == FRAME_KILL;
		break;
	case F_CLOSE:
		shutdown(a->fd, SHUT_RDWR);
		break;
	case F_VIOLATE:
		put(a->fd, FRAME_READY, NULL, 0);	/* no READY while it runs */
		break;
	case F_TOOL:
		put(a->fd, FRAME_TOOL, TOOL_LINE, sizeof(TOOL_LINE) - 1);
		switch (next_type(a->fd)) {
		case FRAME_RESULT:
			a->saw_result = 1;
			finish(a->fd, FRAME_REASON_NONE);
			break;
		case FRAME_KILL:
			a->saw_kill = 1;
			finish(a->fd, FRAME_REASON_KILLED);
			break;
		}
		break;
	}
	return NULL;
}

static struct policy pol;

/* a worker after its agent's hello, the fake agent on the other end */
static void
worker_of(struct worker *w, struct agent *a, enum fake how)
{
	struct frame_caps k;
	unsigned char hello[FRAME_HDR];
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	memset(w, 0, sizeof(*w));
	w->fd = sv[0];
	w->policy = &pol;
	policy_chan_caps(&pol, &k);
	chan_init(&w->ch, &k);
	frame_hdr_write(hello, FRAME_READY, 0);
	CHECK(chan_feed(&w->ch, hello, sizeof(hello)) == 0 && w->ch.hello);
	a->fd = sv[1];
	a->how = how;
	a->saw_kill = 0;
}

/* print(1) in py, its timeout 100 ms */
static void
job_of(struct job *job)
{
	memset(job, 0, sizeof(*job));
	job->policy = &pol;
	job->lang = LANG_PY;
	job->timeout_ms = 100;
	job->code_fd = cw_memfd("code");
	CHECK(cw_write_all(job->code_fd, "print(1)", 8) == 0);
	job->code_len = 8;
}

static enum worker_end
one(enum fake how, struct agent *a, struct worker *w, int *outfd, const char **why,
    uint64_t *ms)
{
	static struct job job;
	pthread_t t;
	enum worker_end end;
	uint64_t t0;

	job_of(&job);
	*outfd = cw_memfd("out");
	worker_of(w, a, how);
	CHECK(pthread_create(&t, NULL, agent, a) == 0);
	t0 = cw_now_ms();
	end = worker_job(w, &job, 0, *outfd, cw_memfd("tar"), 200, 300, why);
	*ms = cw_now_ms() - t0;
	if (how == F_SILENT || how == F_VIOLATE)
		shutdown(w->fd, SHUT_RDWR);	/* the fake is waiting: end it */
	pthread_join(t, NULL);
	close(a->fd);
	close(w->fd);
	close(job.code_fd);
	return end;
}

/* frontd's side of the relay: the line checked, then a reply or a cancel */
struct front {
	int		fd;
	int		cancel;
	int		saw_line;
};

static void *
front(void *arg)
{
	struct front *f = arg;
	struct ipc_ptc_line m;
	char line[64];
	size_t nfds;
	int fds[IPC_FDS_MAX], r;

	if (ipc_recv(f->fd, &m, sizeof(m), fds, &nfds) != (ssize_t)sizeof(m) ||
	    nfds != 1)
		return NULL;
	f->saw_line = m.hdr.type == IPC_PTC_LINE && m.len == sizeof(TOOL_LINE) - 1 &&
	    pread(fds[0], line, sizeof(line), 0) == (ssize_t)m.len &&
	    memcmp(line, TOOL_LINE, m.len) == 0;
	close(fds[0]);
	usleep(400 * 1000);	/* the client at work: four times the job's timeout */
	if (f->cancel) {
		ptc_relay_cancel(m.hdr.id);
		return NULL;
	}
	r = cw_memfd("results");
	(void)cw_write_all(r, "{\"results\":[]}\n", 15);
	(void)cw_memfd_seal(r);
	ptc_relay_reply(m.hdr.id, r, 15);
	return NULL;
}

/* a programmatic job: its TOOL relayed, answered (or cancelled) late */
static enum worker_end
tool_job(int cancel, struct agent *a, struct worker *w, struct front *f)
{
	static struct job job;
	static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_t ta, tf;
	enum worker_end end;
	const char *why;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	ptc_relay_init(sv[0], &send_lock);
	f->fd = sv[1];
	f->cancel = cancel;
	f->saw_line = 0;
	job_of(&job);
	job.id = 41;
	CHECK(ptc_relay_open(job.id) == 0);
	worker_of(w, a, F_TOOL);
	a->saw_result = 0;
	CHECK(pthread_create(&ta, NULL, agent, a) == 0);
	CHECK(pthread_create(&tf, NULL, front, f) == 0);
	end = worker_job(w, &job, FRAME_JOB_PTC, cw_memfd("out"), cw_memfd("tar"),
	    200, 300, &why);
	pthread_join(ta, NULL);
	pthread_join(tf, NULL);
	ptc_relay_close(job.id);
	close(a->fd);
	close(w->fd);
	close(sv[0]);
	close(sv[1]);
	close(job.code_fd);
	return end;
}

/*
 * A channel that ended mid-job: the sandbox stopped only when the engine
 * lists its worker stopped or not at all; no list (sockproxy gone), a
 * full one without it, or the worker still running: not the sandbox's end.
 */
static void
states(void)
{
	static char ids[3][DK_ID_LEN + 1];
	int running[3] = { 1, 0, 1 };
	struct dk d = { .sock = "/nonexistent/codeward-test.sock" };
	uint64_t t0;
	int k;

	for (k = 0; k < 3; k++)
		memset(ids[k], 'a' + k, DK_ID_LEN);
	CHECK(worker_state_in(ids[0], ids, running, 3, 512) == WORKER_RUNNING);
	CHECK(worker_state_in(ids[1], ids, running, 3, 512) == WORKER_EXITED);
	CHECK(worker_state_in(ids[2], ids, running, 2, 512) == WORKER_GONE);
	CHECK(worker_state_in(ids[2], ids, running, 2, 2) == WORKER_UNKNOWN);
	CHECK(worker_state_in(ids[0], ids, running, -1, 512) == WORKER_UNKNOWN);
	CHECK(worker_state_in(ids[0], ids, running, 0, 512) == WORKER_GONE);
	/* an engine not there: unknown at once, the grace not waited */
	t0 = cw_now_ms();
	CHECK(worker_state(&d, ids[0], 2000) == WORKER_UNKNOWN);
	CHECK(cw_now_ms() - t0 < 1000 && d.err[0] != '\0');
}

int
main(void)
{
	struct worker w;
	struct agent a;
	const char *why;
	uint64_t ms;
	int outfd;

	signal(SIGPIPE, SIG_IGN);	/* as privd: a closed channel is an error */
	pol.workdir_size = 1 << 20;
	pol.workdir_files = 16;
	pol.code_max = 1 << 16;
	pol.stdout_max = pol.stderr_max = 1 << 16;
	pol.langs[LANG_PY].enabled = 1;
	pol.ptc_token_ttl_ms = 10000;

	CHECK(one(F_ANSWER, &a, &w, &outfd, &why, &ms) == WORKER_DONE);
	CHECK(w.ch.outlen == 8 + 3 && w.ch.exited && w.ch.ready && w.jobs == 1);
	close(outfd);

	CHECK(one(F_AT_KILL, &a, &w, &outfd, &why, &ms) == WORKER_DONE_KILLED);
	CHECK(a.saw_kill && ms >= 300 && w.ch.exit.reason == FRAME_REASON_KILLED);
	close(outfd);

	CHECK(one(F_SILENT, &a, &w, &outfd, &why, &ms) == WORKER_HUNG);
	CHECK(a.saw_kill && ms >= 600 && ms < 5000 && why != NULL);
	close(outfd);

	CHECK(one(F_CLOSE, &a, &w, &outfd, &why, &ms) == WORKER_LOST);
	CHECK(why != NULL && w.ch.why == NULL);
	close(outfd);

	CHECK(one(F_VIOLATE, &a, &w, &outfd, &why, &ms) == WORKER_LOST);
	CHECK(why != NULL && w.ch.why != NULL);
	close(outfd);

	/* a programmatic job: its wait for the client is not its time */
	{
		struct front f;

		CHECK(tool_job(0, &a, &w, &f) == WORKER_DONE);
		CHECK(f.saw_line && a.saw_result && !a.saw_kill && !w.cancelled);
		CHECK(tool_job(1, &a, &w, &f) == WORKER_DONE);
		CHECK(f.saw_line && a.saw_kill && !a.saw_result && w.cancelled);
	}

	/* the channel gone before the job: nothing of it ran */
	{
		static struct job job;

		worker_of(&w, &a, F_ANSWER);
		close(a.fd);
		job_of(&job);
		CHECK(worker_job(&w, &job, 0, cw_memfd("o"), cw_memfd("t"), 200, 300,
		    &why) == WORKER_NOT_SENT);
		close(w.fd);
	}
	states();
	return check_done("worker-job");
}
