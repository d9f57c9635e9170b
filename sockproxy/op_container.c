#include "op.h"

#include <stdio.h>
#include <stdlib.h>

#include "answer.h"
#include "call.h"
#include "ipc.h"
#include "owned.h"
#include "refusal.h"
#include "req.h"

/*
 * The most sandboxes privd may hold at once under the policy: every admitted
 * run, as many again being removed after their answer, every warm pool
 * (plain and pre-warmed, for each image) and every kept stateful session.
 * A compromised privd gets no more.
 */
static size_t
live_max(const struct policy *p)
{
	size_t n = 2 * (size_t)p->conc_total + 2 * (size_t)p->pool * p->nimages +
	    p->sessions;

	return n < SP_CONTAINERS_MAX ? n : SP_CONTAINERS_MAX;
}

void
sp_op_create(struct sp_conn *c)
{
	struct sp_json *j;
	struct sp_create cr;
	struct sp_buf body, ans;
	char why[256], id[SP_ID_LEN + 1];
	int st, slot = -1;

	if ((j = sp_conn_json(c)) == NULL)
		return;
	sp_buf_init(&body, SP_JSON_MAX * 2);
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	if (sp_req_create(j, c->conf->policy, &cr, why, sizeof(why)) < 0) {
		sp_conn_refuse(c, 403, "create: %s", why);
		goto out;
	}
	/* the slot is taken now, before the daemon is asked (rule 6, 10) */
	if ((slot = sp_owned_reserve(live_max(c->conf->policy))) < 0) {
		sp_conn_refuse(c, 429,
		    "create: the policy allows %zu sandboxes live, all are taken",
		    live_max(c->conf->policy));
		goto out;
	}
	sp_tmpl_create(&body, c->conf, &cr);
	if (body.err) {
		sp_conn_refuse(c, 413, "create: body too large");
		goto out;
	}
	st = sp_call(c, SP_CALL_CREATE, NULL, body.p, body.len, &ans);
	if (st != 201) {
		sp_call_failed(c, st, &ans, "create");
		goto out;
	}
	if (sp_answer_id(ans.p, ans.len, id) < 0) {
		sp_conn_refuse(c, 502, "create: daemon answer has no id");
		goto out;
	}
	if (sp_call_verify(c, id, &cr, why, sizeof(why)) < 0) {
		log_warnx("create %s: the daemon built something else: %s", id, why);
		sp_call_remove(c, id);
		sp_conn_refuse(c, 502, "create: container differs from the request: %s",
		    why);
		goto out;
	}
	sp_owned_add(slot, id, &cr, c->conf);
	slot = -1;
	log_info("created %s", id);
	sp_conn_reply_id(c, id);
out:
	if (slot >= 0)
		sp_owned_release(slot);
	sp_buf_free(&body);
	sp_buf_free(&ans);
	free(j);
}

void
sp_op_start(struct sp_conn *c)
{
	struct sp_owned o;
	struct sp_create cr;
	struct sp_buf ans;
	char why[256];
	int st;

	if (sp_owned_req(c, &o) < 0)
		return;
	sp_owned_create(&o, &cr);
	if (sp_call_verify(c, o.id, &cr, why, sizeof(why)) < 0) {
		log_warnx("start %s: container changed: %s", o.id, why);
		sp_call_remove(c, o.id);
		sp_conn_refuse(c, 502, "start: container differs from the request: %s",
		    why);
		return;
	}
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	st = sp_call(c, SP_CALL_START, o.id, NULL, 0, &ans);
	if (st == 204)
		sp_conn_reply(c, 204, NULL, 0);
	else
		sp_call_failed(c, st, &ans, "start");
	sp_buf_free(&ans);
}

void
sp_op_kill(struct sp_conn *c)
{
	struct sp_owned o;
	struct sp_buf ans;
	int st;

	if (sp_owned_req(c, &o) < 0)
		return;
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	st = sp_call(c, SP_CALL_KILL, o.id, NULL, 0, &ans);
	if (st == 204)
		sp_conn_reply(c, 204, NULL, 0);
	else
		sp_call_failed(c, st, &ans, "kill");
	sp_buf_free(&ans);
}

void
sp_op_remove(struct sp_conn *c)
{
	struct sp_owned o;

	if (sp_owned_req(c, &o) < 0)
		return;
	if (sp_call_remove(c, o.id) == 0) {
		log_info("removed %s", o.id);
		sp_conn_reply(c, 204, NULL, 0);
	} else {
		sp_conn_refuse(c, 502, "remove: %s",
		    c->uperr[0] ? c->uperr : "daemon refused");
	}
}

void
sp_op_wait(struct sp_conn *c)
{
	struct sp_owned o;
	struct sp_up *up = NULL;
	struct sp_buf ans;
	char out[64];
	long code;
	int n;

	sp_buf_init(&ans, 65536);
	if (sp_owned_req(c, &o) < 0)
		goto out;
	if ((up = malloc(sizeof(*up))) == NULL) {
		sp_conn_refuse(c, 503, "out of memory");
		goto out;
	}
	if (sp_call_stream(c, up, SP_CALL_WAIT, o.id, NULL, "application/json",
	    SP_WAIT_MS, "wait") != 0) {
		free(up);
		up = NULL;
		goto out;
	}
	if ((n = sp_up_body(up, &ans)) != 0) {
		if (n == SP_UP_GONE)
			log_info("wait %s: client went away", o.id);
		else
			sp_conn_refuse(c, 502, "wait: upstream: %s", up->err);
		goto out;
	}
	if (sp_answer_wait(ans.p, ans.len, &code) < 0) {
		sp_conn_refuse(c, 502, "wait: daemon answer malformed");
		goto out;
	}
	n = snprintf(out, sizeof(out), "{\"StatusCode\":%ld}", code);
	sp_conn_reply(c, 200, out, (size_t)n);
out:
	if (up != NULL)
		sp_up_close(up);
	free(up);
	sp_buf_free(&ans);
}

/* {"Id":ID} or {"Id":ID,"State":S}: privd's resync removes a stopped one */
static void
list_add(void *ctx, const char *id, const char *state)
{
	struct sp_buf *b = ctx;

	if (sp_owned_find(id, NULL) != 0)
		return;	/* labelled, but not in this process's table */
	sp_buf_str(b, b->len > 1 ? ",{\"Id\":\"" : "{\"Id\":\"");
	sp_buf_str(b, id);
	if (state != NULL) {
		sp_buf_str(b, "\",\"State\":\"");
		sp_buf_str(b, state);
	}
	sp_buf_str(b, "\"}");
}

void
sp_op_list(struct sp_conn *c)
{
	struct sp_buf ans, out;
	int st;

	sp_buf_init(&ans, SP_UP_JSON_MAX * 4);
	sp_buf_init(&out, SP_CONTAINERS_MAX * 80 + 16);
	st = sp_call(c, SP_CALL_LIST_OWNER, c->conf->owner, NULL, 0, &ans);
	if (st != 200) {
		sp_call_failed(c, st, &ans, "list");
		goto out;
	}
	sp_buf_str(&out, "[");
	if (sp_answer_list(c->conf, ans.p, ans.len, 1, list_add, &out) < 0) {
		sp_conn_refuse(c, 502, "list: daemon answer malformed");
		goto out;
	}
	sp_buf_str(&out, "]");
	if (out.err) {
		sp_conn_refuse(c, 502, "list: too long");
		goto out;
	}
	sp_conn_reply(c, 200, out.p, out.len);
out:
	sp_buf_free(&ans);
	sp_buf_free(&out);
}

/* sockproxy's own counters; nothing goes upstream */
void
sp_op_stats(struct sp_conn *c)
{
	struct sp_buf out;
	unsigned int i;

	sp_buf_init(&out, 1024);
	sp_buf_str(&out, "{\"refused\":{");
	for (i = 0; i < IPC_REFUSALS; i++)
		sp_buf_printf(&out, "%s\"%s\":%llu", i ? "," : "",
		    ipc_refusal_name(i),
		    (unsigned long long)sp_refusal_get(i));
	sp_buf_printf(&out, "},\"containers\":%d}", sp_owned_count());
	if (out.err)
		sp_conn_refuse(c, 503, "out of memory");
	else
		sp_conn_reply(c, 200, out.p, out.len);
	sp_buf_free(&out);
}
