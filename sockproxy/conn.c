#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dkstream.h"
#include "refusal.h"

#define CLIENT_WRITE_MS	30000	/* privd must take each piece within this */

/* wait for events on the client before the deadline: 0, -1 error, -2 timeout */
static int
conn_wait(struct sp_conn *c, short events, uint64_t deadline)
{
	struct pollfd pfd = { c->fd, events, 0 };

	for (;;) {
		uint64_t now = sp_now_ms();
		int r;

		if (now >= deadline)
			return -2;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

ssize_t
sp_conn_read(struct sp_conn *c, void *buf, size_t len, uint64_t deadline)
{
	for (;;) {
		ssize_t n;
		int r;

		if ((r = conn_wait(c, POLLIN, deadline)) != 0)
			return r;
		n = recv(c->fd, buf, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return n;
	}
}

int
sp_conn_write(struct sp_conn *c, const void *p, size_t n)
{
	const char *s = p;
	uint64_t deadline = sp_now_ms() + CLIENT_WRITE_MS;

	while (n > 0) {
		ssize_t w;

		if (conn_wait(c, POLLOUT, deadline) != 0)
			return -1;
		w = send(c->fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int
sp_conn_more(struct sp_conn *c)
{
	char probe;

	return recv(c->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

void
sp_conn_set_line(struct sp_conn *c)
{
	size_t n;

	for (n = 0; n < c->have && n < 160 && c->head[n] != '\r' &&
	    c->head[n] != '\n'; n++)
		;
	log_str(c->line, sizeof(c->line), c->head, n);
}

/* ---- replies ----------------------------------------------------------- */

/* written once before the first connection, read-only after */
static char generation[SP_GEN_LEN + 1];

void
sp_conn_set_generation(const char *gen)
{
	snprintf(generation, sizeof(generation), "%s", gen);
}

/* "X-Codeward-Generation: G\r\n", or "" before it is set (the unit harness) */
static const char *
gen_line(char *buf, size_t len)
{
	buf[0] = '\0';
	if (generation[0] != '\0')
		snprintf(buf, len, "X-Codeward-Generation: %s\r\n", generation);
	return buf;
}

void
sp_conn_reply(struct sp_conn *c, int status, const char *body, size_t len)
{
	char head[320], gen[64];
	int n;

	gen_line(gen, sizeof(gen));
	if (status == 204)
		n = snprintf(head, sizeof(head), "HTTP/1.1 204 No Content\r\n"
		    "%sConnection: close\r\n\r\n", gen);
	else
		n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		    "%sConnection: close\r\n\r\n", status, sp_status_text(status),
		    len, gen);
	if (sp_conn_write(c, head, (size_t)n) == 0 && status != 204 && len > 0)
		sp_conn_write(c, body, len);
}

void
sp_conn_reply_id(struct sp_conn *c, const char *id)
{
	char out[SP_ID_LEN + 16];
	int n;

	n = snprintf(out, sizeof(out), "{\"Id\":\"%s\"}", id);
	sp_conn_reply(c, 201, out, (size_t)n);
}

/* log, count and answer one refusal: {"message": why} */
static void refuse_v(struct sp_conn *, int, unsigned int, const char *, va_list)
    CW_PRINTF(4, 0);

static void
refuse_v(struct sp_conn *c, int status, unsigned int klass, const char *fmt,
    va_list ap)
{
	struct sp_buf b;
	char why[256];

	vsnprintf(why, sizeof(why), fmt, ap);
	if (status < 500)
		log_warnx("refused %d: %s: %s", status, c->line, why);
	else
		log_warnx("failed %d: %s: %s", status, c->line, why);
	sp_refusal_count(c->conf, klass, status, c->line, why);
	sp_buf_init(&b, 1024);
	sp_buf_str(&b, "{\"message\":");
	sp_buf_jstr(&b, why, strlen(why));
	sp_buf_str(&b, "}");
	if (!b.err)
		sp_conn_reply(c, status, b.p, b.len);
	sp_buf_free(&b);
}

void
sp_conn_refuse(struct sp_conn *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refuse_v(c, status, sp_refusal_class(status), fmt, ap);
	va_end(ap);
}

void
sp_conn_refuse_as(struct sp_conn *c, int status, unsigned int klass,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refuse_v(c, status, klass, fmt, ap);
	va_end(ap);
}

/* ---- request bodies ---------------------------------------------------- */

/* the JSON body, exactly Content-Length bytes and nothing after */
static int
read_body(struct sp_conn *c, char *buf)
{
	size_t extra = c->have - c->req.head_len, got;
	uint64_t deadline = sp_now_ms() + SP_BODY_MS;

	if (extra > c->req.clen) {
		sp_conn_refuse(c, 400, "bytes after the body");
		return -1;
	}
	memcpy(buf, c->head + c->req.head_len, extra);
	for (got = extra; got < c->req.clen; ) {
		ssize_t n = sp_conn_read(c, buf + got, c->req.clen - got, deadline);

		if (n == -2) {
			sp_conn_refuse(c, 408, "body not sent in time");
			return -1;
		}
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	if (sp_conn_more(c)) {
		sp_conn_refuse(c, 400,
		    "bytes after the body (one request per connection)");
		return -1;
	}
	return 0;
}

struct sp_json *
sp_conn_json(struct sp_conn *c)
{
	struct sp_json *j;
	char *buf;

	if ((buf = malloc(SP_JSON_MAX)) == NULL ||
	    (j = malloc(sizeof(*j))) == NULL) {
		free(buf);
		sp_conn_refuse(c, 503, "out of memory");
		return NULL;
	}
	if (read_body(c, buf) < 0)
		goto bad;
	if (sp_json_parse(j, buf, c->req.clen) < 0) {
		sp_conn_refuse(c, 400, "JSON refused: %s", j->err);
		goto bad;
	}
	free(buf);
	return j;
bad:
	free(buf);
	free(j);
	return NULL;
}

/* ---- streamed answers -------------------------------------------------- */

int
sp_conn_stream_head(struct sp_conn *c, const char *ctype)
{
	char head[320], gen[64];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
	    "Transfer-Encoding: chunked\r\n%sConnection: close\r\n\r\n", ctype,
	    gen_line(gen, sizeof(gen)));
	return sp_conn_write(c, head, (size_t)n);
}

int
sp_conn_upgrade_head(struct sp_conn *c)
{
	char head[320], gen[64];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 101 Switching Protocols\r\n"
	    "%sConnection: Upgrade\r\nUpgrade: codeward-channel\r\n\r\n",
	    gen_line(gen, sizeof(gen)));
	return sp_conn_write(c, head, (size_t)n);
}

/* one chunk: pre then p */
static int
chunk(struct sp_conn *c, const unsigned char *pre, size_t plen,
    const unsigned char *p, size_t n)
{
	unsigned char out[SP_CHUNK_MAX + 64];
	int k;

	if (plen + n > SP_CHUNK_MAX)
		return -1;
	k = snprintf((char *)out, 32, "%zx\r\n", plen + n);
	memcpy(out + k, pre, plen);
	memcpy(out + k + plen, p, n);
	memcpy(out + k + plen + n, "\r\n", 2);
	return sp_conn_write(c, out, (size_t)k + plen + n + 2);
}

int
sp_conn_chunk_end(struct sp_conn *c)
{
	return sp_conn_write(c, "0\r\n\r\n", 5);
}

int
sp_conn_relay_bytes(void *ctx, const unsigned char *p, size_t n)
{
	struct sp_relay *r = ctx;

	while (n > 0) {
		size_t k = n < SP_CHUNK_MAX ? n : SP_CHUNK_MAX;

		if (chunk(r->c, NULL, 0, p, k) != 0) {
			r->failed = 1;
			return -1;
		}
		p += k;
		n -= k;
	}
	return 0;
}

int
sp_conn_relay_frame(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct sp_relay *r = ctx;

	while (n > 0) {
		size_t k = n < SP_CHUNK_MAX - DKSTREAM_HDR ? n :
		    SP_CHUNK_MAX - DKSTREAM_HDR;
		unsigned char hdr[DKSTREAM_HDR];

		dkstream_header(hdr, type, (uint32_t)k);
		if (chunk(r->c, hdr, sizeof(hdr), p, k) != 0) {
			r->failed = 1;
			return -1;
		}
		p += k;
		n -= k;
	}
	return 0;
}
