#include "chan.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dkstream.h"
#include "frame.h"
#include "refusal.h"

struct relay {
	struct sp_conn	*c;
	struct sp_up	*up;
	const struct policy *p;
	int		image;
	struct frame_chan fc;
	struct frame_rd	down, agent;
	struct dkstream	dk;
	uint64_t	run_until;	/* 0 unless a job runs (and no TOOL waits) */
	uint64_t	tool_left;	/* a TOOL waits: run_until's ms left, + 1 */
	uint32_t	job_ms;
	const char	*why;		/* the violation */
	int		who;		/* -1 privd, -2 the agent */
	int		gone;		/* a write failed: the other side left */
};

void
sp_chan_exec(struct sp_exec *e, int jail, const struct policy *p,
    struct sp_chan_sizes *sz)
{
	memset(e, 0, sizeof(*e));
	e->channel = 1;
	e->argv[e->argc++] = SP_AGENT_PATH;
	if (!jail)
		return;
	snprintf(sz->tmp, sizeof(sz->tmp), "%llu",
	    (unsigned long long)p->tmp_size);
	snprintf(sz->shm, sizeof(sz->shm), "%llu",
	    (unsigned long long)p->shm_size);
	snprintf(sz->files, sizeof(sz->files), "%u", p->tmp_files);
	e->argv[e->argc++] = SP_AGENT_JAIL_FLAG;
	e->argv[e->argc++] = "-t";
	e->argv[e->argc++] = sz->tmp;
	e->argv[e->argc++] = "-s";
	e->argv[e->argc++] = sz->shm;
	e->argv[e->argc++] = "-f";
	e->argv[e->argc++] = sz->files;
}

static int
to_agent(struct relay *r, const void *p, size_t n)
{
	r->up->deadline = sp_now_ms() + SP_CHAN_WRITE_MS;
	if (sp_up_write(r->up, p, n) != 0) {
		r->gone = 1;
		return -1;
	}
	return 0;
}

static int
to_privd(struct relay *r, const void *p, size_t n)
{
	if (sp_conn_write(r->c, p, n) != 0) {
		r->gone = 1;
		return -1;
	}
	return 0;
}

/* a job's language and timeout inside the worker's policy */
static const char *
job_allowed(const struct relay *r, const unsigned char *p, size_t n)
{
	const struct policy *pol = r->p;
	struct frame_job j;
	const char *why;
	int l;

	if (frame_job_parse(p, n, &j, &why) < 0)
		return why;
	if (j.timeout_ms > pol->time_max_ms)
		return "job timeout above the policy's";
	for (l = 0; l < LANG_COUNT; l++) {
		const struct policy_language *pl = &pol->langs[l];

		if (pl->enabled && strcmp(policy_lang_name((enum policy_lang)l),
		    j.lang) == 0 && r->image >= 0 &&
		    (size_t)r->image < pol->nimages &&
		    strcmp(pol->images[pl->image].ref, pol->images[r->image].ref) == 0)
			return NULL;
	}
	return "job language not enabled for this worker's image";
}

/* a checked frame's header as sockproxy writes it, then its payload */
static int
pass(struct relay *r, int (*out)(struct relay *, const void *, size_t),
    const struct frame_hdr *h, const unsigned char *p, size_t n)
{
	unsigned char hdr[FRAME_HDR];

	frame_hdr_write(hdr, h->type, h->len);
	if (out(r, hdr, sizeof(hdr)) != 0)
		return -1;
	return n > 0 ? out(r, p, n) : 0;
}

/* privd's frames, up to the agent */
static int
down_frame(void *ctx, enum frame_ev ev, const struct frame_hdr *h,
    const unsigned char *p, size_t n)
{
	struct relay *r = ctx;

	if (ev == FRAME_EV_PIECE)
		return to_agent(r, p, n);
	if (h->type == FRAME_JOB) {
		if ((r->why = job_allowed(r, p, n)) != NULL)
			return -1;
		r->job_ms = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
	}
	if (h->type == FRAME_RUN)
		r->run_until = sp_now_ms() + r->job_ms + SP_CHAN_RUN_MS_EXTRA;
	if (h->type == FRAME_RESULT && r->tool_left > 0) {
		/* the program's time goes on where its TOOL stopped it */
		r->run_until = sp_now_ms() + r->tool_left - 1;
		r->tool_left = 0;
	}
	return pass(r, to_agent, h, p, n);
}

/* the agent's frames, down to privd: payloads opaque */
static int
agent_frame(void *ctx, enum frame_ev ev, const struct frame_hdr *h,
    const unsigned char *p, size_t n)
{
	struct relay *r = ctx;
	struct frame_exit e;
	unsigned char ex[FRAME_EXIT_LEN];
	const char *why;

	if (ev == FRAME_EV_PIECE)
		return to_privd(r, p, n);
	if (h->type == FRAME_EXIT) {
		/* the one value privd reads: written anew from the checked one */
		if (frame_exit_parse(p, n, &e, &why) < 0) {
			r->why = why;
			return -1;
		}
		frame_exit_write(ex, &e);
		p = ex;
		r->run_until = r->tool_left = 0;
	}
	if (ev == FRAME_EV_HEAD && h->type == FRAME_TOOL && r->run_until > 0) {
		/* privd bounds the wait for the client (token-ttl) */
		uint64_t now = sp_now_ms();

		r->tool_left = (r->run_until > now ? r->run_until - now : 0) + 1;
		r->run_until = 0;
	}
	return pass(r, to_privd, h, p, n);
}

/* a piece of Docker's stream: stdout carries frames, stderr is a violation */
static int
agent_stream(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct relay *r = ctx;
	enum frame_result fr;

	if (type != DKSTREAM_STDOUT) {
		r->why = "the agent wrote to its stderr";
		return -1;
	}
	fr = frame_rd_feed(&r->agent, p, n, agent_frame, r);
	if (fr == FRAME_BAD)
		r->why = r->agent.why;
	return fr == FRAME_OK ? 0 : -1;
}

static int
feed_agent(struct relay *r, const unsigned char *p, size_t n)
{
	if (dkstream_feed(&r->dk, p, n, agent_stream, r) == DKSTREAM_OK)
		return 0;
	if (r->why == NULL && !r->gone)
		r->why = "the daemon's stream is not stdout/stderr frames";
	r->who = -2;
	return -1;
}

static int
feed_privd(struct relay *r, const unsigned char *p, size_t n)
{
	enum frame_result fr = frame_rd_feed(&r->down, p, n, down_frame, r);

	if (fr == FRAME_OK)
		return 0;
	if (fr == FRAME_BAD)
		r->why = r->down.why;
	r->who = -1;
	return -1;
}

/* one poll round; 1 to go on, 0 at the end, -1 on a violation */
static int
round_trip(struct relay *r, unsigned char *buf, size_t len)
{
	struct pollfd pf[2];
	uint64_t now = sp_now_ms();
	int ms = -1;
	ssize_t n;

	if (r->run_until != 0) {
		if (now >= r->run_until) {
			r->why = "the job ran past its timeout without an EXIT";
			r->who = -2;
			return -1;
		}
		ms = (int)(r->run_until - now);
	}
	pf[0].fd = r->up->fd;
	pf[0].events = POLLIN;
	pf[1].fd = r->c->fd;
	pf[1].events = POLLIN;
	if (poll(pf, 2, ms) < 0)
		return errno == EINTR ? 1 : 0;
	if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
		if ((n = recv(r->c->fd, buf, len, MSG_DONTWAIT)) > 0) {
			if (feed_privd(r, buf, (size_t)n) != 0)
				return r->gone ? 0 : -1;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/*
			 * privd is done. Closing the hijacked connection ends
			 * the agent's stdin, and the agent exits (no shutdown(2):
			 * not in sockproxy's filter, and nothing is still owed).
			 */
			return 0;
		}
	}
	if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		if ((n = recv(r->up->fd, buf, len, MSG_DONTWAIT)) > 0)
			return feed_agent(r, buf, (size_t)n) != 0 && !r->gone ?
			    -1 : !r->gone;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return 0;		/* the agent ended */
	}
	return 1;
}

int
sp_chan_relay(struct sp_conn *c, struct sp_up *up, const char *cid, int image)
{
	struct relay r;
	struct frame_caps k;
	unsigned char buf[16384];
	int st = 1;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.up = up;
	r.p = c->conf->policy;
	r.image = image;
	policy_chan_caps(r.p, &k);
	frame_chan_init(&r.fc, &k);
	frame_rd_init(&r.down, FRAME_DOWN, &r.fc);
	frame_rd_init(&r.agent, FRAME_UP, &r.fc);
	dkstream_init(&r.dk, DKSTREAM_TYPE(DKSTREAM_STDOUT) |
	    DKSTREAM_TYPE(DKSTREAM_STDERR));
	up->watch = -1;
	/* what came with the 101 */
	if (up->len > up->off) {
		if (feed_agent(&r, up->buf + up->off, up->len - up->off) != 0)
			st = r.gone ? 0 : -1;
		up->off = up->len;
	}
	while (st == 1)
		st = round_trip(&r, buf, sizeof(buf));
	if (st == 0 && !r.gone && (!dkstream_at_boundary(&r.dk) ||
	    !frame_rd_at_boundary(&r.agent))) {
		r.why = "the agent's stream ended inside a frame";
		r.who = -2;
		st = -1;
	}
	if (st == 0) {
		log_info("channel %s: ended after %llu jobs", cid,
		    (unsigned long long)r.fc.jobs);
		return 0;
	}
	log_warnx("channel on %s: %s: %s; channel closed", cid,
	    r.who == -1 ? "privd" : "agent", r.why != NULL ? r.why : "?");
	/* counted and audited as a policy refusal (403) of its start */
	sp_refusal_count(c->conf, sp_refusal_class(403), 403, c->line,
	    r.who == -1 ? "channel: privd broke the frame grammar" :
	    "channel: the agent broke the frame grammar");
	return r.who == -1 ? -1 : -2;
}
