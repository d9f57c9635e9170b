#include "call.h"

#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "ipc.h"
#include "owned.h"

int
sp_call(struct sp_conn *c, enum sp_call k, const char *arg, const char *body,
    size_t blen, struct sp_buf *ans)
{
	struct sp_buf req;
	int status = -1;

	sp_buf_init(&req, SP_JSON_MAX * 2);
	sp_tmpl_call(&req, k, arg, blen);
	if (body != NULL)
		sp_buf_add(&req, body, blen);
	if (req.err) {
		snprintf(c->uperr, sizeof(c->uperr), "request too large");
		goto out;
	}
	if (sp_up_call(c->conf->upstream, &req, ans, &status, SP_UP_MS,
	    c->uperr, sizeof(c->uperr)) != 0)
		status = -1;
out:
	sp_buf_free(&req);
	return status;
}

void
sp_call_failed(struct sp_conn *c, int status, const struct sp_buf *ans,
    const char *what)
{
	char msg[160];

	if (status < 0) {
		sp_conn_refuse(c, 502, "%s: daemon unreachable: %s", what, c->uperr);
		return;
	}
	sp_answer_message(ans->p != NULL ? ans->p : "", ans->len, msg, sizeof(msg));
	log_warnx("%s: daemon answered %d: %s", what, status, msg);
	if (status == 404)
		sp_conn_refuse_as(c, 404, IPC_REFUSE_DAEMON, "%s: no such object",
		    what);
	else if (status == 409 || status == 304)
		sp_conn_refuse_as(c, 409, IPC_REFUSE_DAEMON,
		    "%s: conflict with the object's state", what);
	else
		sp_conn_refuse(c, 502, "%s: daemon answered %d", what, status);
}

int
sp_call_remove(struct sp_conn *c, const char *id)
{
	struct sp_buf ans;
	int st;

	sp_buf_init(&ans, SP_UP_JSON_MAX);
	st = sp_call(c, SP_CALL_REMOVE, id, NULL, 0, &ans);
	sp_buf_free(&ans);
	if (st == 204 || st == 404) {
		sp_owned_del(id);
		return 0;
	}
	log_warnx("remove %s: %s", id, st < 0 ? c->uperr : "daemon refused");
	return -1;
}

int
sp_call_verify(struct sp_conn *c, const char *id, const struct sp_create *cr,
    char *why, size_t wlen)
{
	struct sp_buf ans;
	int st, r = -1;

	sp_buf_init(&ans, SP_UP_JSON_MAX);
	st = sp_call(c, SP_CALL_INSPECT, id, NULL, 0, &ans);
	if (st != 200) {
		snprintf(why, wlen, "inspect failed (%d)", st);
		goto out;
	}
	r = sp_verify_container(c->conf, cr, id, ans.p, ans.len, why, wlen);
out:
	sp_buf_free(&ans);
	return r;
}

int
sp_call_stream(struct sp_conn *c, struct sp_up *up, enum sp_call k,
    const char *arg, const char *body, const char *ctype, uint64_t ms,
    const char *what)
{
	struct sp_buf req, ans;
	int r = -1;

	sp_buf_init(&req, 4096);
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	sp_tmpl_call(&req, k, arg, body != NULL ? strlen(body) : 0);
	if (body != NULL)
		sp_buf_str(&req, body);
	if (sp_up_open(up, c->conf->upstream, sp_now_ms() + ms) != 0) {
		sp_conn_refuse(c, 502, "%s: daemon unreachable: %s", what, up->err);
		goto out;
	}
	up->watch = c->fd;
	if (sp_up_write(up, req.p, req.len) != 0 || sp_up_head(up) != 0) {
		if (up->err[0] != '\0')
			sp_conn_refuse(c, 502, "%s: upstream: %s", what, up->err);
		goto close;
	}
	if (up->status != 200) {
		if (sp_up_body(up, &ans) == 0)
			sp_call_failed(c, up->status, &ans, what);
		else
			sp_conn_refuse(c, 502, "%s: daemon answered %d", what,
			    up->status);
		goto close;
	}
	if (strcmp(up->ctype, ctype) != 0) {
		sp_conn_refuse(c, 502, "%s: daemon answered with content type '%s'",
		    what, up->ctype);
		goto close;
	}
	r = 0;
	goto out;
close:
	sp_up_close(up);
out:
	sp_buf_free(&req);
	sp_buf_free(&ans);
	return r;
}
