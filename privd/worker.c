#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ptcrelay.h"
#include "util.h"

/* sockproxy's answer to the channel's create, exactly: {"Id":"<64 hex>"} */
struct idbuf {
	char	buf[96];
	size_t	len;
};

static int
id_sink(void *ctx, const char *p, size_t n)
{
	struct idbuf *b = ctx;

	if (n > sizeof(b->buf) - 1 - b->len)
		return -1;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

int
worker_chan_open(struct dk *d, const char *cid, int jail, uint64_t deadline_ms,
    int *fd, char *left, size_t *nleft)
{
	char path[160], xid[DK_ID_LEN + 1];
	struct dkh_req req = { .method = "POST", .path = path };
	struct idbuf b = { .len = 0 };
	int st, r;

	snprintf(path, sizeof(path), "/v1.41/containers/%s/channel%s", cid,
	    jail ? "?jail=1" : "");
	if ((r = dkh_call(d->sock, &req, deadline_ms, &st, id_sink, &b)) != DKH_OK ||
	    st != 201) {
		snprintf(d->err, sizeof(d->err), "channel create: %s %d",
		    r != DKH_OK ? "failed" : "answered", r != DKH_OK ? r : st);
		return -1;
	}
	b.buf[b.len] = '\0';
	if (b.len != 7 + DK_ID_LEN + 2 || memcmp(b.buf, "{\"Id\":\"", 7) != 0 ||
	    memcmp(b.buf + 7 + DK_ID_LEN, "\"}", 2) != 0) {
		snprintf(d->err, sizeof(d->err), "channel create: not an id answer");
		return -1;
	}
	memcpy(xid, b.buf + 7, DK_ID_LEN);
	xid[DK_ID_LEN] = '\0';
	if (!dk_id_ok(xid)) {
		snprintf(d->err, sizeof(d->err), "channel create: not an id answer");
		return -1;
	}
	snprintf(path, sizeof(path), "/v1.41/exec/%s/channel", xid);
	if ((r = dkh_upgrade(d->sock, path, deadline_ms, fd, &st, left, nleft)) !=
	    DKH_OK) {
		snprintf(d->err, sizeof(d->err), "channel start: failed %d (status %d)",
		    r, st);
		return -1;
	}
	return 0;
}

/* the program is over: its archive, its EXIT or the READY after came */
static int
program_over(const struct worker *w)
{
	enum frame_state st = w->ch.fc.state;

	return st == FRAME_S_ARCHIVE || st == FRAME_S_EXITED || w->ch.ready;
}

/* a programmatic job: also its next TOOL line, or frontd's cancel */
static int
tool_or_over(const struct worker *w)
{
	return program_over(w) || w->ch.tool_done ||
	    ptc_relay_cancelled(w->ptc_id);
}

static int
is_ready(const struct worker *w)
{
	return w->ch.ready;
}

static int
is_hello(const struct worker *w)
{
	return w->ch.hello;
}

/*
 * The agent's frames into w->ch until done(w): 0; -1 at the end of the
 * channel or a violation (*why), or at deadline_ms, or after idle_ms with
 * no byte (0: no such limit) (*why NULL then: timed out).
 */
static int
pump(struct worker *w, int (*done)(const struct worker *), uint64_t deadline_ms,
    uint64_t idle_ms, const char **why)
{
	unsigned char buf[16384];	/* a run thread's stack is 256K */
	uint64_t last = cw_now_ms();
	ssize_t n;

	*why = NULL;
	while (!done(w)) {
		struct pollfd pf = { .fd = w->fd, .events = POLLIN };
		uint64_t now = cw_now_ms();
		int ms;

		if (now >= deadline_ms || (idle_ms > 0 && now - last >= idle_ms))
			return -1;
		ms = deadline_ms - now > 1000 ? 1000 : (int)(deadline_ms - now);
		if (poll(&pf, 1, ms) < 0) {
			if (errno == EINTR)
				continue;
			*why = "poll on the channel failed";
			return -1;
		}
		if (pf.revents == 0)
			continue;
		if ((n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT)) == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EINTR)) {
			*why = "the channel ended";
			return -1;
		}
		if (n > 0 && chan_feed(&w->ch, buf, (size_t)n) != 0) {
			*why = w->ch.why != NULL ? w->ch.why : "a frame broke the channel";
			return -1;
		}
		if (n > 0)
			last = cw_now_ms();
	}
	return 0;
}

int
worker_open(struct dk *d, struct worker *w, uint64_t deadline_ms)
{
	char left[DKH_HEAD_MAX];
	struct frame_caps k;
	const char *why;
	size_t nleft = 0;

	w->fd = -1;
	policy_chan_caps(w->policy, &k);
	chan_init(&w->ch, &k);
	if (worker_chan_open(d, w->cid, 1, deadline_ms, &w->fd, left, &nleft) != 0)
		return -1;
	if ((nleft > 0 && chan_feed(&w->ch, (unsigned char *)left, nleft) != 0) ||
	    pump(w, is_hello, deadline_ms, 0, &why) != 0) {
		snprintf(d->err, sizeof(d->err), "the agent's hello: %s",
		    w->ch.why != NULL ? w->ch.why : "none came");
		close(w->fd);
		w->fd = -1;
		return -1;
	}
	return 0;
}

void
worker_close(struct worker *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->ch.toolfd >= 0)		/* a tool line its job left */
		close(w->ch.toolfd);
	free(w);
}

/* privd's KILL to the agent: 0, or -1 with *why */
static int
send_kill(struct worker *w, const char **why)
{
	unsigned char kill_frame[FRAME_HDR];

	frame_hdr_write(kill_frame, FRAME_KILL, 0);
	if (frame_chan_step(&w->ch.fc, FRAME_DOWN,
	    &(struct frame_hdr){ FRAME_KILL, 0 }, NULL) != 0 ||
	    cw_write_all(w->fd, kill_frame, sizeof(kill_frame)) != 0) {
		*why = "the KILL could not be sent";
		return -1;
	}
	return 0;
}

/*
 * privd's KILL, then the program's end within grace_ms: 0; -1 with *end
 * LOST (the channel failed, *why) or HUNG (no end came)
 */
static int
kill_wait(struct worker *w, uint64_t grace_ms, const char **why,
    enum worker_end *end)
{
	*end = WORKER_LOST;
	if (send_kill(w, why) != 0)
		return -1;
	if (pump(w, program_over, cw_now_ms() + grace_ms, 0, why) == 0)
		return 0;
	if (*why == NULL) {
		*why = "the program did not end within the grace after the KILL";
		*end = WORKER_HUNG;
	}
	return -1;
}

/*
 * A programmatic job's TOOL line: relayed to frontd, its answer back as
 * the RESULT (0); -1 when none came (cancelled, token-ttl passed: the job
 * is to end), -2 when the channel failed (*why).
 */
static int
relay_tool(struct worker *w, const struct job *job, const char **why)
{
	uint64_t len, rlen;
	int fd, rfd, rc;

	if ((fd = chan_tool_take(&w->ch, &len)) < 0) {
		*why = w->ch.why;
		return -2;
	}
	/* frontd ends the run at token-ttl; this is privd's own bound */
	rfd = ptc_relay_line(job->id, fd, len, (uint64_t)job->policy->ptc_token_ttl_ms +
	    WORKER_PTC_GRACE_MS, &rlen);
	close(fd);
	if (rfd < 0)
		return -1;
	rc = chan_send_result(&w->ch, w->fd, rfd, rlen);
	close(rfd);
	if (rc != 0)
		*why = w->ch.why;
	return rc != 0 ? -2 : 0;
}

enum worker_end
worker_job(struct worker *w, const struct job *job, uint32_t flags, int outfd,
    int tarfd, uint64_t kill_ms, uint64_t grace_ms, const char **why)
{
	const struct policy *p = job->policy;
	int (*until)(const struct worker *) = program_over;
	enum worker_end end;
	struct frame_job fj;
	uint64_t deadline, t0;
	int killed = 0, rc;

	memset(&fj, 0, sizeof(fj));
	fj.timeout_ms = job->timeout_ms;
	/*
	 * One byte under the channel's cap: the agent kills only at a read
	 * that would pass its cap, so output that reaches it exactly in
	 * whole pieces would otherwise run on, dropped, to the timeout.
	 */
	fj.output_max = (uint32_t)(policy_output_kill(p) - 1);
	fj.archive_max = (uint32_t)w->ch.fc.caps.archive;
	fj.flags = flags;
	snprintf(fj.lang, sizeof(fj.lang), "%s", policy_lang_name(job->lang));
	w->jobs++;
	w->ptc_id = (flags & FRAME_JOB_PTC) ? job->id : 0;
	w->cancelled = 0;
	if (w->ptc_id != 0)
		until = tool_or_over;
	if (chan_send_job(&w->ch, w->fd, &fj, job, outfd, tarfd) != 0) {
		/* no RUN went: nothing of it ran */
		*why = w->ch.why;
		return WORKER_NOT_SENT;
	}
	/*
	 * The program: the agent ends it at its timeout; privd's KILL
	 * kill_ms after that; given up grace_ms after the KILL. Then its
	 * archive, EXIT and READY, for as long as bytes keep coming. A
	 * programmatic job's waits for its tools do not count: the agent's
	 * clock stops with them, and so does this deadline.
	 */
	deadline = cw_now_ms() + job->timeout_ms + kill_ms;
	while ((rc = pump(w, until, deadline, 0, why)) == 0 && !program_over(w)) {
		if (ptc_relay_cancelled(w->ptc_id)) {
			w->cancelled = 1;
			break;
		}
		t0 = cw_now_ms();
		if ((rc = relay_tool(w, job, why)) == -2)
			return WORKER_LOST;
		if (rc == -1) {
			w->cancelled = 1;
			rc = 0;
			break;
		}
		deadline += cw_now_ms() - t0;
	}
	/* cancelled, or no results in time: ended as a KILL ends it */
	if (rc == 0 && w->cancelled && kill_wait(w, grace_ms, why, &end) != 0)
		return end;
	if (rc != 0) {
		if (*why != NULL)
			return WORKER_LOST;
		killed = 1;
		if (kill_wait(w, grace_ms, why, &end) != 0)
			return end;
	}
	/* a line the program wrote as it ended is not relayed */
	if (w->ch.toolfd >= 0) {
		close(w->ch.toolfd);
		w->ch.toolfd = -1;
	}
	if (pump(w, is_ready, UINT64_MAX, grace_ms, why) != 0) {
		if (*why == NULL)
			*why = "the agent went silent before its READY";
		return WORKER_HUNG;
	}
	return killed ? WORKER_DONE_KILLED : WORKER_DONE;
}

enum worker_state
worker_state_in(const char *cid, char ids[][DK_ID_LEN + 1], const int *running,
    int n, int max)
{
	int k;

	if (n < 0)
		return WORKER_UNKNOWN;
	for (k = 0; k < n; k++)
		if (strcmp(ids[k], cid) == 0)
			return running[k] ? WORKER_RUNNING : WORKER_EXITED;
	/* a full list may have left it out */
	return n >= max ? WORKER_UNKNOWN : WORKER_GONE;
}

enum worker_state
worker_state(struct dk *d, const char *cid, uint64_t grace_ms)
{
	char (*ids)[DK_ID_LEN + 1];
	uint64_t until = cw_now_ms() + grace_ms;
	int *running, n;
	enum worker_state st = WORKER_UNKNOWN;

	/* on the heap: a run thread's stack is 256K */
	ids = calloc(WORKER_LIST_MAX, sizeof(*ids));
	running = calloc(WORKER_LIST_MAX, sizeof(*running));
	if (ids == NULL || running == NULL) {
		snprintf(d->err, sizeof(d->err), "no memory for the list");
		goto out;
	}
	for (;;) {
		n = dk_list(d, ids, running, WORKER_LIST_MAX);
		st = worker_state_in(cid, ids, running, n, WORKER_LIST_MAX);
		/* the engine may list a worker stopping a moment late */
		if (st != WORKER_RUNNING || cw_now_ms() >= until)
			break;
		(void)poll(NULL, 0, 100);
	}
	if (st == WORKER_UNKNOWN && n >= 0)
		snprintf(d->err, sizeof(d->err), "the list of %d is full", n);
out:
	free(ids);
	free(running);
	return st;
}
