/*
 * The relays of the programmatic runs under way (ptcrelay.h): a fixed
 * table by execution id, one mutex, one condition. A run thread waits in
 * ptc_relay_line(); the monitor thread fills its box.
 */
#include "ptcrelay.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "util.h"

#define RELAY_MAX	256	/* runs at once: more than [concurrency] allows */

struct box {
	uint32_t	id;		/* 0: free */
	int		waiting;	/* a line went: a reply is due */
	int		cancelled;
	int		fd;		/* the reply, or -1 */
	uint64_t	len;
};

static struct box	boxes[RELAY_MAX];
static pthread_mutex_t	relay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	relay_cond = PTHREAD_COND_INITIALIZER;
static int		relay_sock = -1;	/* frontd's socketpair */
static pthread_mutex_t	*relay_send;		/* its sends' lock */
static volatile int	stop_all;		/* privd stops: no relay waits */

void
ptc_relay_init(int sock, pthread_mutex_t *send_lock)
{
	relay_sock = sock;
	relay_send = send_lock;
}

/* id's box; the caller holds relay_lock */
static struct box *
box_of(uint32_t id)
{
	size_t i;

	for (i = 0; id != 0 && i < RELAY_MAX; i++)
		if (boxes[i].id == id)
			return &boxes[i];
	return NULL;
}

int
ptc_relay_open(uint32_t id)
{
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&relay_lock);
	for (i = 0; i < RELAY_MAX && rc < 0 && box_of(id) == NULL; i++) {
		if (boxes[i].id != 0)
			continue;
		memset(&boxes[i], 0, sizeof(boxes[i]));
		boxes[i].id = id;
		boxes[i].fd = -1;
		rc = 0;
	}
	pthread_mutex_unlock(&relay_lock);
	return rc;
}

void
ptc_relay_close(uint32_t id)
{
	struct box *b;

	pthread_mutex_lock(&relay_lock);
	if ((b = box_of(id)) != NULL) {
		if (b->fd >= 0)
			close(b->fd);
		memset(b, 0, sizeof(*b));
	}
	pthread_mutex_unlock(&relay_lock);
}

int
ptc_relay_cancelled(uint32_t id)
{
	struct box *b;
	int c;

	pthread_mutex_lock(&relay_lock);
	c = (b = box_of(id)) != NULL && b->cancelled;
	pthread_mutex_unlock(&relay_lock);
	return c;
}

int
ptc_relay_line(uint32_t id, int linefd, uint64_t len, uint64_t wait_ms,
    uint64_t *rlen)
{
	struct ipc_ptc_line m;
	struct timespec ts;
	struct box *b;
	int fd = -1, r = 0, sent;

	memset(&m, 0, sizeof(m));
	ipc_hdr_init(&m.hdr, IPC_PTC_LINE, sizeof(m), id);
	m.len = len;
	pthread_mutex_lock(&relay_lock);
	if ((b = box_of(id)) == NULL || b->cancelled || stop_all) {
		pthread_mutex_unlock(&relay_lock);
		return -1;
	}
	b->waiting = 1;
	pthread_mutex_unlock(&relay_lock);

	sent = -1;
	if (relay_send != NULL) {
		pthread_mutex_lock(relay_send);
		sent = ipc_send(relay_sock, &m, sizeof(m), &linefd, 1);
		pthread_mutex_unlock(relay_send);
	}
	if (sent != 0)
		log_warn("run %u: the tool line to frontd", id);

	cw_abstime_ms(&ts, sent == 0 ? wait_ms : 0);
	pthread_mutex_lock(&relay_lock);
	while ((b = box_of(id)) != NULL && b->fd < 0 && !b->cancelled && r == 0)
		r = pthread_cond_timedwait(&relay_cond, &relay_lock, &ts);
	if (b != NULL && b->fd >= 0 && !b->cancelled) {
		fd = b->fd;
		*rlen = b->len;
		b->fd = -1;
	}
	if (b != NULL)
		b->waiting = 0;
	pthread_mutex_unlock(&relay_lock);
	if (fd < 0 && r == ETIMEDOUT)
		log_info("run %u: no tool results within %llu ms: ended", id,
		    (unsigned long long)wait_ms);
	return fd;
}

void
ptc_relay_reply(uint32_t id, int fd, uint64_t len)
{
	struct box *b;

	pthread_mutex_lock(&relay_lock);
	/* one reply per line: another, or a late one, is dropped */
	if ((b = box_of(id)) != NULL && b->waiting && b->fd < 0) {
		b->fd = fd;
		b->len = len;
		fd = -1;
		pthread_cond_broadcast(&relay_cond);
	}
	pthread_mutex_unlock(&relay_lock);
	if (fd >= 0)
		close(fd);
}

void
ptc_relay_cancel_all(void)
{
	size_t i;

	pthread_mutex_lock(&relay_lock);
	for (i = 0; i < RELAY_MAX; i++)
		if (boxes[i].id != 0)
			boxes[i].cancelled = 1;
	pthread_mutex_unlock(&relay_lock);
	stop_all = 1;
	pthread_cond_broadcast(&relay_cond);
}

void
ptc_relay_cancel(uint32_t id)
{
	struct box *b;

	pthread_mutex_lock(&relay_lock);
	if ((b = box_of(id)) != NULL) {
		b->cancelled = 1;
		pthread_cond_broadcast(&relay_cond);
	}
	pthread_mutex_unlock(&relay_lock);
}
