/*
 * Custody (custody.h). Why privd may hold client sockets and keep its trust
 * rule: it reads nothing from them (no recv on them anywhere), parses
 * nothing of HTTP, and writes only bytes fixed at start-up, chosen by the
 * state a message from frontd named; a frontd that lies about a state or
 * passes another socket can only make privd write those fixed bytes to a
 * socket frontd itself could write to, after frontd is gone.
 */
#include "custody.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custody_bytes.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

struct held {
	uint32_t	id;		/* 0: free */
	uint32_t	mode;		/* enum ipc_conn_framing */
	uint32_t	state;		/* enum ipc_conn_step */
	int		fd;
};

static struct held	*held;
static size_t		held_max, held_n;

void
custody_start(size_t max)
{
	if (custody_init() != 0)
		fatalx("custody_start: the fixed answers do not fit");
	if ((held = calloc(max, sizeof(*held))) == NULL)
		fatalx("custody_start: out of memory");
	held_max = max;
}

static struct held *
find(uint32_t id)
{
	size_t i;

	for (i = 0; i < held_max; i++)
		if (held[i].id == id)
			return &held[i];
	return NULL;
}

int
custody_hold(uint32_t id, uint32_t mode, int fd)
{
	struct held *h;
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		log_warnx("custody_hold: %u: not a socket", id);
		return -1;
	}
	if (find(id) != NULL) {
		log_warnx("custody_hold: %u is held already", id);
		return -1;
	}
	/* frontd holds at most its connection limits' worth at once */
	if ((h = find(0)) == NULL) {
		log_warnx("custody_hold: more than %zu connections", held_max);
		return -1;
	}
	h->id = id;
	h->mode = mode;
	h->state = IPC_CONN_HELD;
	h->fd = fd;
	held_n++;
	return 0;
}

int
custody_state(uint32_t id, uint32_t state)
{
	struct held *h;

	if ((h = find(id)) == NULL) {
		log_warnx("custody_state: %u is not held", id);
		return -1;
	}
	/* forward only, and spaces only before any answer */
	if (state <= h->state ||
	    (state == IPC_CONN_SPACES && h->state != IPC_CONN_HELD)) {
		log_warnx("custody_state: %u: state %u after %u", id, state,
		    h->state);
		return -1;
	}
	h->state = state;
	return 0;
}

static void
release(struct held *h)
{
	close(h->fd);
	memset(h, 0, sizeof(*h));
	held_n--;
}

int
custody_drop(uint32_t id)
{
	struct held *h;

	if ((h = find(id)) == NULL) {
		log_warnx("custody_drop: %u is not held", id);
		return -1;
	}
	release(h);
	return 0;
}

size_t
custody_count(void)
{
	return held_n;
}

/* what frontd sent before it died: applied as the monitor would */
static void
drain(int sock)
{
	union {
		struct ipc_exec_begin	align;
		char			buf[IPC_MSG_MAX + 1];
	} u;
	int fds[IPC_FDS_MAX];
	const char *why;
	struct ipc_hdr h;
	size_t nfds, i;
	ssize_t n;
	int bad;

	while ((n = ipc_recv(sock, u.buf, sizeof(u.buf), fds, &nfds)) > 0) {
		if (ipc_check(u.buf, (size_t)n, nfds, &why) != 0) {
			log_warnx("custody_end: frontd's last messages: %s", why);
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			return;
		}
		memcpy(&h, u.buf, sizeof(h));
		if (h.type == IPC_CONN_HOLD) {
			const struct ipc_conn_hold *m = (const void *)u.buf;

			if (custody_hold(h.id, m->mode, fds[0]) == 0)
				continue;
			close(fds[0]);
			return;
		}
		bad = 0;
		if (h.type == IPC_CONN_STATE) {
			const struct ipc_conn_state *m = (const void *)u.buf;

			bad = custody_state(h.id, m->state);
		} else if (h.type == IPC_CONN_DROP)
			bad = custody_drop(h.id);
		/* an execution frontd no longer waits for: nothing to do */
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (bad)
			return;
	}
}

/* all of p, unless the peer takes nothing until the deadline */
static int
write_until(int fd, const char *p, size_t len, uint64_t deadline)
{
	while (len > 0) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		uint64_t now;
		ssize_t n;

		n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -1;
		if ((now = cw_now_ms()) >= deadline)
			return -1;
		(void)poll(&pfd, 1, (int)(deadline - now));
	}
	return 0;
}

void
custody_end(int sock)
{
	struct pollfd pfd = { sock, POLLIN | POLLRDHUP, 0 };
	size_t i, answered = 0, cut = 0, failed = 0;
	uint64_t deadline;
	int dead;

	dead = poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP));
	if (dead)
		drain(sock);
	deadline = cw_now_ms() + CUSTODY_WRITE_MS;
	for (i = 0; i < held_max && held_n > 0; i++) {
		const char *bytes;
		size_t len;

		if (held[i].id == 0)
			continue;
		bytes = custody_bytes(held[i].state, held[i].mode, &len);
		if (!dead || bytes == NULL)
			cut++;
		else if (write_until(held[i].fd, bytes, len, deadline) == 0) {
			answered++;
			shutdown(held[i].fd, SHUT_WR);
		} else
			failed++;
		release(&held[i]);
	}
	if (dead && answered + cut + failed > 0)
		log_info("custody_end: frontd died holding %zu connections: "
		    "%zu answered, %zu cut in their answer, %zu that took "
		    "nothing in %d ms", answered + cut + failed, answered, cut,
		    failed, CUSTODY_WRITE_MS);
}
