#include "proxy.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "ipc.h"
#include "op.h"
#include "refusal.h"

/* the dispatch table: one handler per route operation */
static const struct {
	enum sp_op	op;
	void		(*fn)(struct sp_conn *);
} handlers[SP_OP_COUNT] = {
	{ SP_OP_CREATE, sp_op_create },
	{ SP_OP_START, sp_op_start },
	{ SP_OP_PUT_ARCHIVE, sp_op_put_archive },
	{ SP_OP_GET_ARCHIVE, sp_op_get_archive },
	{ SP_OP_EXEC_CREATE, sp_op_exec_create },
	{ SP_OP_EXEC_START, sp_op_exec_start },
	{ SP_OP_EXEC_INSPECT, sp_op_exec_inspect },
	{ SP_OP_KILL, sp_op_kill },
	{ SP_OP_REMOVE, sp_op_remove },
	{ SP_OP_WAIT, sp_op_wait },
	{ SP_OP_LIST, sp_op_list },
	{ SP_OP_STAT_ARCHIVE, sp_op_stat_archive },
	{ SP_OP_STATS, sp_op_stats },
	{ SP_OP_CHANNEL_CREATE, sp_op_channel_create },
	{ SP_OP_CHANNEL_CREATE_JAIL, sp_op_channel_create_jail },
	{ SP_OP_CHANNEL_START, sp_op_channel_start },
};

void
sp_serve(int fd, const struct sp_conf *conf)
{
	struct sp_conn *c;
	uint64_t deadline = sp_now_ms() + SP_HEAD_MS;
	const char *why;
	size_t end = 0;
	int st, he = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->conf = conf;
	while (c->have < sizeof(c->head)) {
		ssize_t n = sp_conn_read(c, c->head + c->have,
		    sizeof(c->head) - c->have, deadline);

		if (n == -2) {
			sp_conn_set_line(c);
			sp_conn_refuse(c, 408, "request head not sent in time");
			goto out;
		}
		if (n <= 0)
			goto out;
		c->have += (size_t)n;
		if ((he = sp_http_head_end(c->head, c->have, &end)) != 0)
			break;
	}
	sp_conn_set_line(c);
	if (he == 0) {
		sp_conn_refuse(c, 431, "request head larger than %d bytes",
		    SP_HEAD_MAX);
		goto out;
	}
	if (he < 0) {
		sp_conn_refuse(c, 400, "bare CR or LF in the head");
		goto out;
	}
	if ((st = sp_http_parse(c->head, end, &c->req, &why)) != 0) {
		sp_conn_refuse(c, st, "%s", why);
		goto out;
	}
	c->req.head_len = end;
	if (c->req.route->body == SP_BODY_NONE && c->have > end) {
		sp_conn_refuse(c, 400,
		    "bytes after the request (one request per connection)");
		goto out;
	}
	if (handlers[c->req.route->op].op != c->req.route->op)
		fatalx("sp_serve: dispatch table out of order");
	handlers[c->req.route->op].fn(c);
out:
	close(fd);
	free(c);
}

void
sp_busy(int fd)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nContent-Length: 36\r\n"
	    "Connection: close\r\n\r\n{\"message\":\"too many connections\"}";

	send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	sp_refusal_count(NULL, IPC_REFUSE_BUSY, 503, "", "too many connections");
}
