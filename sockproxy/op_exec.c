#include "op.h"

#include <stdio.h>
#include <stdlib.h>

#include "answer.h"
#include "call.h"
#include "mux.h"
#include "owned.h"
#include "req.h"

void
sp_op_exec_create(struct sp_conn *c)
{
	struct sp_owned o;
	struct sp_json *j = NULL;
	struct sp_exec e;
	char why[256];

	if (sp_owned_req(c, &o) < 0 || (j = sp_conn_json(c)) == NULL)
		goto out;
	if (sp_req_exec(j, c->conf->policy, o.image, &e, why, sizeof(why)) < 0) {
		sp_conn_refuse(c, 403, "exec: %s", why);
		goto out;
	}
	sp_exec_create(c, &o, &e);
out:
	free(j);
}

void
sp_exec_create(struct sp_conn *c, const struct sp_owned *o,
    const struct sp_exec *e)
{
	struct sp_buf body, ans;
	char why[256], id[SP_ID_LEN + 1];
	int st, running = 0, code = -1, slot = -1;

	sp_buf_init(&body, SP_JSON_MAX * 2);
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	/* the slot is taken now, before the daemon is asked (rule 10) */
	if ((slot = sp_owned_exec_reserve(o->id)) < 0) {
		if (slot == -1)
			sp_conn_refuse(c, 404, "not a container this proxy created");
		else
			sp_conn_refuse(c, 429, "exec: the container has %d "
			    "execs not ended, the most it may have", SP_EXECS_LIVE);
		slot = -1;
		goto out;
	}
	sp_tmpl_exec(&body, c->conf, e);
	st = sp_call(c, SP_CALL_EXEC, o->id, body.p, body.len, &ans);
	if (st != 201) {
		sp_call_failed(c, st, &ans, "exec");
		goto out;
	}
	if (sp_answer_id(ans.p, ans.len, id) < 0) {
		sp_conn_refuse(c, 502, "exec: daemon answer has no id");
		goto out;
	}
	sp_buf_free(&ans);
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	st = sp_call(c, SP_CALL_EXEC_INSPECT, id, NULL, 0, &ans);
	if (st != 200 || sp_verify_exec(c->conf, o->id, e->channel, e, ans.p,
	    ans.len, &running, &code, why, sizeof(why)) < 0 || running) {
		if (st != 200)
			snprintf(why, sizeof(why), "inspect failed (%d)", st);
		log_warnx("exec %s: the daemon built something else: %s", id, why);
		sp_call_remove(c, o->id);
		sp_conn_refuse(c, 502, "exec differs from the request: %s", why);
		goto out;
	}
	if (sp_owned_exec_add(slot, o->id, id, e->channel) < 0) {
		sp_conn_refuse(c, 404, "exec: its container was removed meanwhile");
		goto out;
	}
	slot = -1;
	sp_conn_reply_id(c, id);
out:
	if (slot >= 0)
		sp_owned_exec_release(slot, o->id);
	sp_buf_free(&body);
	sp_buf_free(&ans);
}

int
sp_exec_claim(struct sp_conn *c, int channel, char *cid)
{
	struct sp_buf ans;
	char why[256];
	int running = 0, code = -1, st, r = -1;

	sp_buf_init(&ans, SP_UP_JSON_MAX);
	/* the kind is checked before the claim: the wrong start leaves it */
	if ((st = sp_owned_exec_channel(c->req.id)) >= 0 && st != channel) {
		sp_conn_refuse(c, 409, channel ? "channel: not an agent's exec" :
		    "exec start: an agent's channel starts only hijacked, at "
		    "its channel route");
		goto out;
	}
	if ((st = sp_owned_exec_find(c->req.id, cid, 1)) != 0) {
		if (st == -1)
			sp_conn_refuse(c, 404, "not an exec this proxy created");
		else
			sp_conn_refuse(c, 409, "exec already started");
		goto out;
	}
	sp_owned_conf(c, cid);		/* its container's policy */
	/* rule 7: the exec is still what was asked, and has never run */
	st = sp_call(c, SP_CALL_EXEC_INSPECT, c->req.id, NULL, 0, &ans);
	if (st != 200)
		sp_call_failed(c, st, &ans, "exec start");
	else if (sp_verify_exec(c->conf, cid, channel, NULL, ans.p, ans.len,
	    &running, &code, why, sizeof(why)) < 0 || running || code != -1)
		sp_conn_refuse(c, 502, "exec start: exec differs from the "
		    "request: %s", why[0] ? why : "already ran");
	else
		r = 0;
	if (r != 0)	/* claimed, it can never start again */
		sp_owned_exec_end(c->req.id);
out:
	sp_buf_free(&ans);
	return r;
}

void
sp_op_exec_start(struct sp_conn *c)
{
	const struct policy *p;
	struct sp_up *up = NULL;
	struct sp_mux mux;
	struct sp_relay rl = { c, 0 };
	unsigned char *buf = NULL;
	char cid[SP_ID_LEN + 1];
	uint64_t cap;
	ssize_t n;

	if (sp_exec_claim(c, 0, cid) != 0)
		return;
	p = c->conf->policy;
	cap = 2 * (p->stdout_max + p->stderr_max) + SP_STREAM_SLACK;
	if ((up = malloc(sizeof(*up))) == NULL ||
	    (buf = malloc(SP_CHUNK_MAX)) == NULL) {
		sp_conn_refuse(c, 503, "out of memory");
		goto out;
	}
	if (sp_call_stream(c, up, SP_CALL_EXEC_START, c->req.id,
	    sp_tmpl_exec_start, "application/vnd.docker.raw-stream",
	    (uint64_t)p->time_max_ms + SP_STREAM_MS_EXTRA, "exec start") != 0) {
		free(up);
		up = NULL;
		goto out;
	}
	if (sp_conn_stream_head(c, "application/vnd.docker.raw-stream") != 0)
		goto out;
	sp_mux_init(&mux, cap, cap);
	while ((n = sp_up_read(up, buf, SP_CHUNK_MAX)) > 0) {
		enum sp_mux_result mr = sp_mux_feed(&mux, buf, (size_t)n,
		    sp_conn_relay_frame, &rl);

		if (mr != SP_MUX_OK) {
			log_warnx("exec %s: stream ended: %s", c->req.id,
			    rl.failed ? "client stopped reading" : mux.why);
			goto out;	/* no final chunk: the client sees an error */
		}
	}
	if (n == SP_UP_GONE) {
		log_info("exec %s: client went away; stream closed", c->req.id);
		goto out;
	}
	if (n < 0) {
		log_warnx("exec %s: stream: %s", c->req.id, up->err);
		goto out;
	}
	if (sp_mux_finish(&mux) != 0) {
		log_warnx("exec %s: %s", c->req.id, mux.why);
		goto out;
	}
	sp_conn_chunk_end(c);
out:
	if (up != NULL)
		sp_up_close(up);
	/*
	 * Claimed, it can never start again: its stream is over (or never
	 * began), and only the inspect of its exit code may still come.
	 */
	sp_owned_exec_end(c->req.id);
	free(up);
	free(buf);
}

void
sp_op_exec_inspect(struct sp_conn *c)
{
	struct sp_buf ans;
	char cid[SP_ID_LEN + 1], why[256], out[64];
	int st, running = 0, code = -1, ch;

	sp_buf_init(&ans, SP_UP_JSON_MAX);
	if ((ch = sp_owned_exec_channel(c->req.id)) < 0 ||
	    sp_owned_exec_find(c->req.id, cid, 0) != 0) {
		sp_conn_refuse(c, 404, "not an exec this proxy created");
		goto out;
	}
	sp_owned_conf(c, cid);
	st = sp_call(c, SP_CALL_EXEC_INSPECT, c->req.id, NULL, 0, &ans);
	if (st != 200) {
		sp_call_failed(c, st, &ans, "exec inspect");
		goto out;
	}
	if (sp_verify_exec(c->conf, cid, ch, NULL, ans.p, ans.len, &running, &code,
	    why, sizeof(why)) < 0) {
		sp_conn_refuse(c, 502, "exec inspect: %s", why);
		goto out;
	}
	if (!running && code >= 0)
		sp_owned_exec_end(c->req.id);	/* it exited */
	if (code < 0)
		st = snprintf(out, sizeof(out), "{\"Running\":%s,\"ExitCode\":null}",
		    running ? "true" : "false");
	else
		st = snprintf(out, sizeof(out), "{\"Running\":%s,\"ExitCode\":%d}",
		    running ? "true" : "false", code);
	sp_conn_reply(c, 200, out, (size_t)st);
out:
	sp_buf_free(&ans);
}
