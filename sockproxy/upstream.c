#include "upstream.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { FR_LENGTH, FR_CHUNKED, FR_CLOSE };
enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

static int
set_err(struct sp_up *u, int code, const char *why)
{
	snprintf(u->err, sizeof(u->err), "%s", why);
	return code;
}

int
sp_up_open(struct sp_up *u, const char *path, uint64_t deadline)
{
	struct sockaddr_un sa;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->watch = -1;
	u->deadline = deadline;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return set_err(u, SP_UP_ERROR, "upstream path too long");
	memcpy(sa.sun_path, path, strlen(path));
	if ((u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(u->err, sizeof(u->err), "socket: %s", strerror(errno));
		return SP_UP_ERROR;
	}
	if (connect(u->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(u->err, sizeof(u->err), "connect: %s", strerror(errno));
		close(u->fd);
		u->fd = -1;
		return SP_UP_ERROR;
	}
	return 0;
}

void
sp_up_close(struct sp_up *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

/* wait until fd is ready for 'ev', watching the client; 0 or an sp_up_err */
static int
wait_fd(struct sp_up *u, short ev)
{
	struct pollfd pfd[2];
	uint64_t now;
	int n, r;

	for (;;) {
		now = sp_now_ms();
		if (now >= u->deadline)
			return set_err(u, SP_UP_TIMEOUT, "upstream timed out");
		pfd[0].fd = u->fd;
		pfd[0].events = ev;
		pfd[0].revents = 0;
		n = 1;
		if (u->watch >= 0) {
			pfd[1].fd = u->watch;
			pfd[1].events = POLLIN | POLLRDHUP;
			pfd[1].revents = 0;
			n = 2;
		}
		r = poll(pfd, (nfds_t)n, (int)(u->deadline - now > 1000000 ?
		    1000000 : u->deadline - now));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return set_err(u, SP_UP_ERROR, "poll failed");
		}
		if (n == 2 && pfd[1].revents != 0)
			return set_err(u, SP_UP_GONE, "client went away");
		if (pfd[0].revents != 0)
			return 0;
	}
}

int
sp_up_write(struct sp_up *u, const void *p, size_t n)
{
	const char *c = p;
	int r;

	while (n > 0) {
		ssize_t w;

		if ((r = wait_fd(u, POLLOUT)) != 0)
			return r;
		w = send(u->fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(u->err, sizeof(u->err), "upstream write: %s",
			    strerror(errno));
			return SP_UP_ERROR;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* more raw bytes into buf; >0 read, 0 at EOF, or an sp_up_err */
static int
fill(struct sp_up *u)
{
	ssize_t n;
	int r;

	if (u->off > 0) {
		memmove(u->buf, u->buf + u->off, u->len - u->off);
		u->len -= u->off;
		u->off = 0;
	}
	if (u->len == sizeof(u->buf))
		return set_err(u, SP_UP_ERROR, "upstream line too long");
	for (;;) {
		if ((r = wait_fd(u, POLLIN)) != 0)
			return r;
		n = recv(u->fd, u->buf + u->len, sizeof(u->buf) - u->len,
		    MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(u->err, sizeof(u->err), "upstream read: %s",
			    strerror(errno));
			return SP_UP_ERROR;
		}
		u->len += (size_t)n;
		return (int)(n > 0);
	}
}

/* one CRLF-terminated line out of the buffer (without CRLF) */
static int
get_line(struct sp_up *u, char *line, size_t max)
{
	for (;;) {
		unsigned char *s = u->buf + u->off;
		size_t avail = u->len - u->off, i;
		int r;

		for (i = 0; i + 1 < avail; i++) {
			if (s[i] == '\r' && s[i + 1] == '\n') {
				if (i >= max)
					return set_err(u, SP_UP_ERROR,
					    "upstream line too long");
				memcpy(line, s, i);
				line[i] = '\0';
				u->off += i + 2;
				return 0;
			}
		}
		if ((r = fill(u)) < 0)
			return r;
		if (r == 0)
			return set_err(u, SP_UP_ERROR, "upstream closed mid-line");
	}
}

static int
parse_u64(const char *s, int base, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	for (; *s != '\0'; s++, digits++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (digits >= 15)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (digits == 0)
		return -1;
	*out = v;
	return 0;
}

int
sp_up_head(struct sp_up *u)
{
	char line[1024];
	int r, have_len = 0, chunked = 0, lines = 0, upgrade = 0;
	uint64_t clen = 0;

	if ((r = get_line(u, line, sizeof(line))) != 0)
		return r;
	if (strncmp(line, "HTTP/1.1 ", 9) != 0 || line[9] < '1' ||
	    line[9] > '5' || line[10] < '0' || line[10] > '9' ||
	    line[11] < '0' || line[11] > '9' || (line[12] != ' ' && line[12] != '\0'))
		return set_err(u, SP_UP_ERROR, "upstream status line malformed");
	u->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	for (;;) {
		char *colon, *v;

		if ((r = get_line(u, line, sizeof(line))) != 0)
			return r;
		if (line[0] == '\0')
			break;
		if (++lines > 64)
			return set_err(u, SP_UP_ERROR, "upstream sent too many headers");
		if ((colon = strchr(line, ':')) == NULL)
			return set_err(u, SP_UP_ERROR, "upstream header malformed");
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (strcasecmp(line, "Content-Length") == 0) {
			if (have_len || parse_u64(v, 10, &clen) != 0)
				return set_err(u, SP_UP_ERROR,
				    "upstream Content-Length malformed");
			have_len = 1;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			if (chunked || strcmp(v, "chunked") != 0)
				return set_err(u, SP_UP_ERROR,
				    "upstream Transfer-Encoding not chunked");
			chunked = 1;
		} else if (strcasecmp(line, "Upgrade") == 0) {
			upgrade = strcmp(v, "tcp") == 0;
		} else if (strcasecmp(line, "Content-Type") == 0) {
			snprintf(u->ctype, sizeof(u->ctype), "%s", v);
		} else if (strcasecmp(line, "X-Docker-Container-Path-Stat") == 0) {
			if (strlen(v) >= sizeof(u->pathstat))
				return set_err(u, SP_UP_ERROR,
				    "upstream path stat too long");
			memcpy(u->pathstat, v, strlen(v) + 1);
		}
	}
	if (have_len && chunked)
		return set_err(u, SP_UP_ERROR, "upstream sent two framings");
	if (u->status == 101 && u->hijack) {
		/* a raw stream both ways from here (the channel, chan.c) */
		if (!upgrade || have_len || chunked)
			return set_err(u, SP_UP_ERROR, "upstream 101 not to tcp");
		u->framing = FR_CLOSE;
		return 0;
	}
	if (u->head_only || u->status < 200 || u->status == 204 ||
	    u->status == 304) {
		if (u->status < 200)
			return set_err(u, SP_UP_ERROR, "upstream sent 1xx");
		u->framing = FR_LENGTH;
		u->left = 0;
		u->done = 1;
	} else if (chunked) {
		u->framing = FR_CHUNKED;
		u->chunk = CH_SIZE;
	} else if (have_len) {
		u->framing = FR_LENGTH;
		u->left = clen;
		u->done = clen == 0;
	} else {
		u->framing = FR_CLOSE;
	}
	return 0;
}

/* up to max raw body bytes from the buffer or the socket */
static ssize_t
raw(struct sp_up *u, unsigned char *out, size_t max)
{
	size_t k;
	int r;

	if (u->off == u->len) {
		u->off = u->len = 0;
		if ((r = fill(u)) < 0)
			return r;
		if (r == 0)
			return 0;
	}
	k = u->len - u->off < max ? u->len - u->off : max;
	memcpy(out, u->buf + u->off, k);
	u->off += k;
	return (ssize_t)k;
}

ssize_t
sp_up_read(struct sp_up *u, unsigned char *out, size_t max)
{
	char line[128];
	ssize_t n;
	int r;

	if (u->done || max == 0)
		return 0;
	switch (u->framing) {
	case FR_CLOSE:
		n = raw(u, out, max);
		if (n == 0)
			u->done = 1;
		return n;
	case FR_LENGTH:
		n = raw(u, out, u->left < max ? (size_t)u->left : max);
		if (n == 0)
			return set_err(u, SP_UP_ERROR, "upstream body cut short");
		if (n > 0 && (u->left -= (uint64_t)n) == 0)
			u->done = 1;
		return n;
	default:
		break;
	}
	for (;;) {
		switch (u->chunk) {
		case CH_SIZE:
			if ((r = get_line(u, line, sizeof(line))) != 0)
				return r;
			if (parse_u64(line, 16, &u->left) != 0)
				return set_err(u, SP_UP_ERROR,
				    "upstream chunk size malformed");
			u->chunk = u->left == 0 ? CH_TRAILER : CH_DATA;
			break;
		case CH_DATA:
			n = raw(u, out, u->left < max ? (size_t)u->left : max);
			if (n == 0)
				return set_err(u, SP_UP_ERROR,
				    "upstream chunk cut short");
			if (n > 0 && (u->left -= (uint64_t)n) == 0)
				u->chunk = CH_DATA_END;
			return n;
		case CH_DATA_END:
			if ((r = get_line(u, line, sizeof(line))) != 0)
				return r;
			if (line[0] != '\0')
				return set_err(u, SP_UP_ERROR,
				    "upstream chunk not followed by CRLF");
			u->chunk = CH_SIZE;
			break;
		case CH_TRAILER:
			if ((r = get_line(u, line, sizeof(line))) != 0)
				return r;
			if (line[0] == '\0') {
				u->done = 1;
				return 0;
			}
			break;
		}
	}
}

int
sp_up_body(struct sp_up *u, struct sp_buf *b)
{
	unsigned char tmp[8192];
	ssize_t n;

	while ((n = sp_up_read(u, tmp, sizeof(tmp))) > 0) {
		sp_buf_add(b, tmp, (size_t)n);
		if (b->err)
			return set_err(u, SP_UP_ERROR, "upstream answer too large");
	}
	return n < 0 ? (int)n : 0;
}

int
sp_up_call(const char *path, const struct sp_buf *req, struct sp_buf *ans,
    int *status, uint64_t timeout_ms, char *errbuf, size_t errlen)
{
	struct sp_up u;
	int r;

	*status = 0;
	if ((r = sp_up_open(&u, path, sp_now_ms() + timeout_ms)) != 0)
		goto out;
	if ((r = sp_up_write(&u, req->p, req->len)) != 0 ||
	    (r = sp_up_head(&u)) != 0 || (r = sp_up_body(&u, ans)) != 0)
		goto out;
	*status = u.status;
out:
	if (r != 0)
		snprintf(errbuf, errlen, "%s", u.err);
	sp_up_close(&u);
	return r;
}
