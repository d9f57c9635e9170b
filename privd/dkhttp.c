#include "dkhttp.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

enum { B_LENGTH, B_SIZE, B_DATA, B_DATA_CR, B_DATA_LF, B_TRAILER_LF,
    B_DONE };

static int
digits(const char *s, size_t n, int base, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 16)
		return -1;
	for (i = 0; i < n; i++) {
		int d;

		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

int
dkh_parse_head(const char *buf, size_t len, struct dkh_head *h)
{
	const char *p = buf, *end = buf + len, *eol;
	uint64_t st;

	memset(h, 0, sizeof(*h));
	if (len < 4 || memcmp(end - 4, "\r\n\r\n", 4) != 0)
		return -1;
	/* HTTP/1.1 NNN reason */
	if ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL ||
	    eol - p < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[12] != ' ' ||
	    digits(p + 9, 3, 10, &st) != 0 || st < 100 || st > 599)
		return -1;
	h->status = (int)st;
	for (p = eol + 2; p < end - 2; p = eol + 2) {
		const char *colon, *v;
		size_t nlen, vlen;

		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (eol == NULL || eol == p)
			return -1;
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL)
			return -1;
		nlen = (size_t)(colon - p);
		v = colon + 1;
		while (v < eol && *v == ' ')
			v++;
		vlen = (size_t)(eol - v);
		if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			if (h->have_length || digits(v, vlen, 10, &h->length) != 0)
				return -1;
			h->have_length = 1;
		} else if (nlen == 15 && strncasecmp(p, "X-Codeward-Stat", 15) == 0) {
			size_t k;

			/* sockproxy's own line: printable ASCII, bounded */
			if (h->stat[0] != '\0' || vlen == 0 || vlen >= sizeof(h->stat))
				return -1;
			for (k = 0; k < vlen; k++)
				if (v[k] < 0x20 || v[k] > 0x7e)
					return -1;
			memcpy(h->stat, v, vlen);
			h->stat[vlen] = '\0';
		} else if (nlen == 21 &&
		    strncasecmp(p, "X-Codeward-Generation", 21) == 0) {
			size_t k;

			/* sockproxy's own line: lowercase hex, bounded */
			if (h->gen[0] != '\0' || vlen == 0 || vlen >= sizeof(h->gen))
				return -1;
			for (k = 0; k < vlen; k++)
				if (!((v[k] >= '0' && v[k] <= '9') ||
				    (v[k] >= 'a' && v[k] <= 'f')))
					return -1;
			memcpy(h->gen, v, vlen);
			h->gen[vlen] = '\0';
		} else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			if (h->chunked || vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
				return -1;
			h->chunked = 1;
		}
		/* Content-Type, Connection and the rest: not needed */
	}
	if (h->chunked && h->have_length)
		return -1;
	return 0;
}

void
dkh_body_init(struct dkh_body *b, const struct dkh_head *h)
{
	memset(b, 0, sizeof(*b));
	b->chunked = h->chunked;
	if (h->chunked)
		b->state = B_SIZE;
	else if (h->have_length) {
		b->state = h->length > 0 ? B_LENGTH : B_DONE;
		b->left = h->length;
	} else
		b->state = B_DONE;	/* 204 and friends: no body */
}

int
dkh_body_done(const struct dkh_body *b)
{
	return b->state == B_DONE;
}

int
dkh_body_feed(struct dkh_body *b, const char *p, size_t n, dkh_sink sink,
    void *ctx)
{
	while (n > 0) {
		size_t k;

		switch (b->state) {
		case B_LENGTH:
		case B_DATA:
			k = n < b->left ? n : (size_t)b->left;
			if (sink(ctx, p, k) != 0) {
				b->refused = 1;
				return -1;
			}
			p += k;
			n -= k;
			b->left -= k;
			if (b->left == 0)
				b->state = b->state == B_LENGTH ? B_DONE : B_DATA_CR;
			break;
		case B_SIZE:
			if (*p == '\n') {
				uint64_t sz;

				if (b->linelen < 2 || b->line[b->linelen - 1] != '\r' ||
				    digits(b->line, b->linelen - 1, 16, &sz) != 0)
					return -1;
				b->linelen = 0;
				b->left = sz;
				b->state = sz > 0 ? B_DATA : B_TRAILER_LF;
				if (sz == 0) {
					/* expect the final CRLF */
					b->linelen = 0;
				}
			} else {
				if (b->linelen == sizeof(b->line))
					return -1;
				b->line[b->linelen++] = *p;
			}
			p++;
			n--;
			break;
		case B_DATA_CR:
			if (*p != '\r')
				return -1;
			b->state = B_DATA_LF;
			p++;
			n--;
			break;
		case B_DATA_LF:
			if (*p != '\n')
				return -1;
			b->state = B_SIZE;
			p++;
			n--;
			break;
		case B_TRAILER_LF:
			/* no trailers: exactly "\r\n" after the last chunk */
			if (b->linelen == 0 && *p == '\r')
				b->linelen = 1;
			else if (b->linelen == 1 && *p == '\n')
				b->state = B_DONE;
			else
				return -1;
			p++;
			n--;
			break;
		case B_DONE:
		default:
			return -1;	/* bytes after the end */
		}
	}
	return 0;
}

/* ---- sockproxy's generation and doubt ---------------------------------- */

static struct {
	pthread_mutex_t	lock;
	pthread_cond_t	changed;
	char		gen[DKH_GEN_MAX];	/* the last stated, or "" */
	int		doubt;
	uint32_t	epoch;
} peer = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, "", 0, 0 };

void
dkh_peer_doubt(void)
{
	pthread_mutex_lock(&peer.lock);
	peer.doubt = 1;
	pthread_mutex_unlock(&peer.lock);
}

/* an answer: its generation ("" when unstated) and status */
static void
peer_answered(const char *gen, int status)
{
	const char *why = NULL;

	pthread_mutex_lock(&peer.lock);
	if (gen[0] != '\0' && peer.gen[0] != '\0' && strcmp(gen, peer.gen) != 0)
		why = "sockproxy restarted";
	else if (peer.doubt && status != 502 && status != 503)
		why = "sockproxy and the engine answer again";
	if (gen[0] != '\0')
		memcpy(peer.gen, gen, sizeof(peer.gen));
	pthread_mutex_unlock(&peer.lock);
	if (why != NULL)
		dkh_peer_bump(why);
}

void
dkh_peer_bump(const char *why)
{
	pthread_mutex_lock(&peer.lock);
	peer.doubt = 0;
	peer.epoch++;
	pthread_cond_broadcast(&peer.changed);
	log_info("dkh: %s (generation %s): resync", why,
	    peer.gen[0] != '\0' ? peer.gen : "unstated");
	pthread_mutex_unlock(&peer.lock);
}

uint32_t
dkh_peer_epoch(void)
{
	uint32_t e;

	pthread_mutex_lock(&peer.lock);
	e = peer.epoch;
	pthread_mutex_unlock(&peer.lock);
	return e;
}

uint32_t
dkh_peer_wait(uint32_t seen, uint64_t ms)
{
	struct timespec ts;
	uint32_t e;

	cw_abstime_ms(&ts, ms);
	pthread_mutex_lock(&peer.lock);
	while (peer.epoch == seen &&
	    pthread_cond_timedwait(&peer.changed, &peer.lock, &ts) == 0)
		;
	e = peer.epoch;
	pthread_mutex_unlock(&peer.lock);
	return e;
}

/* ---- one call ---------------------------------------------------------- */

/*
 * wait for fd to be ready before the deadline: 0, or a dkh_err; a cancel flag
 * (when not NULL) that becomes non-zero ends the wait first
 */
static int
wait_fd(int fd, short ev, uint64_t deadline_ms, atomic_int *cancel)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = ev };
		uint64_t now = cw_now_ms(), left;
		int r;

		if (cancel != NULL && atomic_load(cancel))
			return DKH_ERR_CANCELLED;
		if (now >= deadline_ms)
			return DKH_ERR_TIMEOUT;
		left = deadline_ms - now;
		if (left > (cancel != NULL ? DKH_CANCEL_MS : 60000))
			left = cancel != NULL ? DKH_CANCEL_MS : 60000;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return DKH_ERR_IO;
	}
}

static int
send_all(int fd, const char *p, size_t n, uint64_t deadline_ms,
    atomic_int *cancel)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return DKH_ERR_IO;
		if ((r = wait_fd(fd, POLLOUT, deadline_ms, cancel)) != 0)
			return r;
	}
	return 0;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_request(int fd, const struct dkh_req *req, uint64_t deadline_ms,
    atomic_int *cancel)
{
	char head[512], buf[65536];
	uint64_t len = req->source ? req->source_len : req->body_len, sent = 0;
	int n, r;

	if (req->ctype != NULL)
		n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: docker\r\n"
		    "Content-Type: %s\r\nContent-Length: %llu\r\n\r\n", req->method,
		    req->path, req->ctype, (unsigned long long)len);
	else
		n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: docker\r\n\r\n",
		    req->method, req->path);
	if (n < 0 || (size_t)n >= sizeof(head))
		return DKH_ERR_PROTOCOL;
	if ((r = send_all(fd, head, (size_t)n, deadline_ms, cancel)) != 0)
		return r;
	if (req->ctype == NULL)
		return 0;
	if (req->source == NULL)
		return send_all(fd, req->body, req->body_len, deadline_ms, cancel);
	while (sent < len) {
		size_t want = len - sent < sizeof(buf) ? (size_t)(len - sent) : sizeof(buf);
		ssize_t k = req->source(req->source_ctx, buf, want);

		if (k <= 0 || (size_t)k > want)
			return DKH_ERR_SOURCE;	/* short or failed: never pad */
		if ((r = send_all(fd, buf, (size_t)k, deadline_ms, cancel)) != 0)
			return r;
		sent += (uint64_t)k;
	}
	return 0;
}

int
dkh_call(const char *sock, const struct dkh_req *req, uint64_t deadline_ms,
    int *status, dkh_sink sink, void *ctx)
{
	return dkh_call_cancel(sock, req, deadline_ms, NULL, status, sink, ctx);
}

int
dkh_call_cancel(const char *sock, const struct dkh_req *req,
    uint64_t deadline_ms, atomic_int *cancel, int *status, dkh_sink sink,
    void *ctx)
{
	char head[DKH_HEAD_MAX], buf[65536];
	struct dkh_head h;
	struct dkh_body b;
	size_t hlen = 0;
	char *end = NULL;
	int fd, r, unsent;

	*status = 0;
	if ((fd = connect_to(sock)) < 0) {
		dkh_peer_doubt();
		return DKH_ERR_CONNECT;
	}
	/*
	 * sockproxy may refuse before it has read the body (a container it
	 * does not own: 404) and close: the send then fails, but its answer
	 * is already here to be read, and it is the one that says why.
	 */
	if ((r = send_request(fd, req, deadline_ms, cancel)) != 0 &&
	    r != DKH_ERR_IO)
		goto out;
	unsent = r != 0;
	/* the head: read until the blank line, at most DKH_HEAD_MAX */
	while (end == NULL) {
		ssize_t k;

		if ((r = wait_fd(fd, POLLIN, deadline_ms, cancel)) != 0)
			goto out;
		k = recv(fd, head + hlen, sizeof(head) - hlen, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0) {
			r = k == 0 && !unsent ? DKH_ERR_PROTOCOL : DKH_ERR_IO;
			goto out;
		}
		hlen += (size_t)k;
		end = memmem(head, hlen, "\r\n\r\n", 4);
		if (end == NULL && hlen == sizeof(head)) {
			r = DKH_ERR_PROTOCOL;
			goto out;
		}
	}
	if (dkh_parse_head(head, (size_t)(end + 4 - head), &h) != 0) {
		r = DKH_ERR_PROTOCOL;
		goto out;
	}
	peer_answered(h.gen, h.status);
	if (unsent && h.status < 400) {
		r = DKH_ERR_IO;		/* a success for a request never sent whole */
		goto out;
	}
	*status = h.status;
	if (req->stat_out != NULL)
		memcpy(req->stat_out, h.stat, sizeof(h.stat));
	dkh_body_init(&b, &h);
	/* what came after the head is body */
	if (dkh_body_feed(&b, end + 4, hlen - (size_t)(end + 4 - head), sink, ctx) != 0) {
		r = b.refused ? DKH_ERR_SINK : DKH_ERR_PROTOCOL;
		goto out;
	}
	while (!dkh_body_done(&b)) {
		ssize_t k;

		if ((r = wait_fd(fd, POLLIN, deadline_ms, cancel)) != 0)
			goto out;
		k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0) {
			/* the peer ended before the framing did */
			r = k == 0 ? DKH_ERR_PROTOCOL : DKH_ERR_IO;
			goto out;
		}
		if (dkh_body_feed(&b, buf, (size_t)k, sink, ctx) != 0) {
			r = b.refused ? DKH_ERR_SINK : DKH_ERR_PROTOCOL;
			goto out;
		}
	}
	r = DKH_OK;
out:
	close(fd);
	return r;
}

int
dkh_upgrade(const char *sock, const char *path, uint64_t deadline_ms,
    int *fdp, int *status, char *left, size_t *nleft)
{
	static const char up[] = "\r\nUpgrade: codeward-channel\r\n";
	const struct dkh_req req = { .method = "POST", .path = path };
	char head[DKH_HEAD_MAX];
	size_t hlen = 0;
	char *end = NULL;
	ssize_t k;
	int fd, r;

	*status = 0;
	if ((fd = connect_to(sock)) < 0)
		return DKH_ERR_CONNECT;
	if ((r = send_request(fd, &req, deadline_ms, NULL)) != 0)
		goto fail;
	while (end == NULL) {
		if ((r = wait_fd(fd, POLLIN, deadline_ms, NULL)) != 0)
			goto fail;
		k = recv(fd, head + hlen, sizeof(head) - hlen, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		r = DKH_ERR_IO;
		if (k <= 0)
			goto fail;
		hlen += (size_t)k;
		end = memmem(head, hlen, "\r\n\r\n", 4);
		r = DKH_ERR_PROTOCOL;
		if (end == NULL && hlen == sizeof(head))
			goto fail;
	}
	r = DKH_ERR_PROTOCOL;
	if (hlen < 12 || memcmp(head, "HTTP/1.1 ", 9) != 0)
		goto fail;
	*status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
	if (*status != 101 || memmem(head, (size_t)(end + 2 - head), up,
	    sizeof(up) - 1) == NULL)
		goto fail;
	*nleft = hlen - (size_t)(end + 4 - head);
	memcpy(left, end + 4, *nleft);
	*fdp = fd;
	return DKH_OK;
fail:
	close(fd);
	return r;
}
