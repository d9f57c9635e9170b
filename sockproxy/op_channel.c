/*
 * The agent's channel (chan.h): its exec, created with stdin attached and
 * only with the agent's fixed argv (privd chooses nothing but the jail
 * flag, by route; with it the jail's sizes come from sockproxy's policy),
 * and its start, only hijacked: the daemon's 101, then
 * sockproxy's own 101 to privd, then the checked relay.
 */
#include "op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "chan.h"
#include "owned.h"

static void
channel_create(struct sp_conn *c, int jail)
{
	struct sp_owned o;
	struct sp_exec e;
	struct sp_chan_sizes sz;

	if (sp_owned_req(c, &o) < 0)
		return;
	sp_chan_exec(&e, jail, c->conf->policy, &sz);
	sp_exec_create(c, &o, &e);
}

void
sp_op_channel_create(struct sp_conn *c)
{
	channel_create(c, 0);
}

void
sp_op_channel_create_jail(struct sp_conn *c)
{
	channel_create(c, 1);
}

/* the hijacked start upstream: 0 with the daemon's 101 read, or answered */
static int
start_hijacked(struct sp_conn *c, struct sp_up *up)
{
	struct sp_buf req;
	int r = -1;

	sp_buf_init(&req, 4096);
	sp_tmpl_call(&req, SP_CALL_EXEC_CHANNEL, c->req.id,
	    strlen(sp_tmpl_exec_start));
	sp_buf_str(&req, sp_tmpl_exec_start);
	if (sp_up_open(up, c->conf->upstream, sp_now_ms() + SP_CHAN_WRITE_MS)
	    != 0) {
		sp_conn_refuse(c, 502, "channel: daemon unreachable: %s", up->err);
		goto out;
	}
	up->hijack = 1;
	up->watch = c->fd;
	if (sp_up_write(up, req.p, req.len) != 0 || sp_up_head(up) != 0) {
		if (up->err[0] != '\0')
			sp_conn_refuse(c, 502, "channel: upstream: %s", up->err);
		goto out;
	}
	if (up->status != 101) {
		sp_conn_refuse(c, 502, "channel: daemon answered %d, not 101",
		    up->status);
		goto out;
	}
	r = 0;
out:
	sp_buf_free(&req);
	return r;
}

void
sp_op_channel_start(struct sp_conn *c)
{
	struct sp_owned o;
	struct sp_up *up = NULL;
	char cid[SP_ID_LEN + 1];

	if (sp_exec_claim(c, 1, cid) != 0)
		return;
	if (sp_owned_find(cid, &o) < 0) {
		sp_conn_refuse(c, 404, "channel: its container was removed");
		goto out;
	}
	if ((up = malloc(sizeof(*up))) == NULL) {
		sp_conn_refuse(c, 503, "out of memory");
		goto out;
	}
	up->fd = -1;
	if (start_hijacked(c, up) != 0 || sp_conn_upgrade_head(c) != 0)
		goto out;
	/* the agent broke the grammar: its worker is not trusted any more */
	if (sp_chan_relay(c, up, cid, o.image) == -2)
		sp_call_remove(c, cid);
out:
	if (up != NULL && up->fd >= 0)
		sp_up_close(up);
	sp_owned_exec_end(c->req.id);
	free(up);
}
