#include "privsep.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "current.h"
#include "log.h"
#include "policy.h"
#include "util.h"

#define PENDING_MAX	512
/*
 * When privd goes, the requests waiting on it are answered 503 and the
 * HTTP side gets this long to send those answers before frontd exits.
 */
#define PRIVD_LOST_S	2

struct pending {
	uint32_t		id;	/* 0: free */
	uint32_t		want;	/* the answer type expected */
	int			session; /* the request named a stateful session */
	int			ptc;	/* a programmatic run: PTC_LINE too */
	int			line;	/* what was answered is a PTC_LINE */
	struct ipc_ptc_line	ptc_line;
	int			answered;
	int			abandoned;
	struct ipc_exec_done	done;
	struct ipc_health_reply	health;
	struct ipc_metrics_reply metrics;
	int			fds[IPC_FDS_MAX];
	size_t			nfds;
};

/*
 * frontd's own checks of an answer beyond ipc_check(), with the request it
 * answers: 0, or -1 with a reason (frontd then exits). The frontd half of
 * privd's answer_* handlers: accept_exec_done takes the EXEC_DONE that
 * answer_exec_run's run sends.
 */
typedef int accept_fn(const struct pending *, const void *, const int *,
    size_t, const char **);

static accept_fn accept_exec_done, accept_policy, accept_ptc_line;

/*
 * Every answer privd may send, OpenSSH monitor_wrap style: its exact size,
 * the most descriptors it carries, frontd's checks, and where it lands in
 * the waiting request's slot. A type not here (a request type, an unknown
 * one), or not the one the request with that id waits for, ends frontd.
 * POLICY answers no request (UNASKED): its accept puts it in force.
 */
#define UNASKED	((size_t)-1)
static const struct dispatch {
	uint32_t	type;
	size_t		size;
	size_t		nfds_max;
	accept_fn	*accept;	/* NULL: ipc_check() says it all */
	size_t		at;		/* offset in struct pending */
} dispatch[] = {
	{ IPC_EXEC_DONE, sizeof(struct ipc_exec_done), IPC_FDS_MAX,
	    accept_exec_done, offsetof(struct pending, done) },
	{ IPC_HEALTH_REPLY, sizeof(struct ipc_health_reply), 0,
	    NULL, offsetof(struct pending, health) },
	{ IPC_METRICS_REPLY, sizeof(struct ipc_metrics_reply), 0,
	    NULL, offsetof(struct pending, metrics) },
	{ IPC_POLICY, sizeof(struct ipc_policy), 1, accept_policy, UNASKED },
	{ IPC_PTC_LINE, sizeof(struct ipc_ptc_line), 1, accept_ptc_line,
	    offsetof(struct pending, ptc_line) },
};

static int		ps_sock = -1;
static pthread_mutex_t	ps_send = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t	ps_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	ps_cond = PTHREAD_COND_INITIALIZER;
static struct pending	ps_pending[PENDING_MAX];
static uint32_t		ps_next_id = 1;
static int		ps_gone;	/* privd went: nothing more is sent */
static void		(*ps_lost)(unsigned int);

static void
close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * EXEC_DONE: a session outcome only for a request that named a session;
 * each descriptor (ipc_check matched their count to the fd bits) a memfd
 * sealed against change, exactly as long as the message says, so mapping
 * it can neither fault nor see it change.
 */
static int
accept_exec_done(const struct pending *p, const void *buf, const int *fds,
    size_t nfds, const char **why)
{
	const struct ipc_exec_done *d = buf;
	uint64_t want[IPC_FDS_MAX];
	size_t n = 0, i;
	struct stat st;

	if (d->session != IPC_SESS_NONE && !p->session)
		return *why = "a session outcome for a run without a session", -1;
	if (d->fds & IPC_DONE_OUTPUT)
		want[n++] = d->output_len;
	if (d->fds & IPC_DONE_ARCHIVE)
		want[n++] = d->archive_len;
	if (n != nfds)
		return *why = "descriptors do not match the fd bits", -1;
	for (i = 0; i < n; i++) {
		if (!cw_memfd_is_sealed(fds[i]) || fstat(fds[i], &st) != 0 ||
		    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != want[i])
			return *why = "descriptors are not sealed memfds of "
			    "the sizes it states", -1;
	}
	return 0;
}

/*
 * PTC_LINE: only for a programmatic run, as a sealed memfd of the length
 * it states; its bytes are the program's and are checked by ptc_calls.c.
 */
static int
accept_ptc_line(const struct pending *p, const void *buf, const int *fds,
    size_t nfds, const char **why)
{
	const struct ipc_ptc_line *m = buf;
	struct stat st;

	(void)nfds;
	if (!p->ptc)
		return *why = "a tool line for a run that is not programmatic", -1;
	if (!cw_memfd_is_sealed(fds[0]) || fstat(fds[0], &st) != 0 ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != m->len)
		return *why = "a tool line not a sealed memfd of its length", -1;
	return 0;
}

/*
 * POLICY: a reload in privd. The fd is a memfd sealed against change of
 * exactly the length stated; its bytes parse, their sha256 is the id
 * stated, and the policy changes nothing a reload may not (privd refused
 * those already). Then it is in force for every request that starts from
 * now on; a request under way keeps the one it started with.
 */
static int
accept_policy(const struct pending *unused, const void *buf, const int *fds,
    size_t nfds, const char **why)
{
	static char err[512];
	const struct ipc_policy *m = buf;
	struct policy *p;
	struct stat st;

	(void)unused;
	(void)nfds;
	if (!cw_memfd_is_sealed(fds[0]) || fstat(fds[0], &st) != 0 ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != m->len)
		return *why = "the policy is not a sealed memfd of the size "
		    "it states", -1;
	if ((p = malloc(sizeof(*p))) == NULL)
		return *why = "out of memory", -1;
	if (policy_load_fd(fds[0], "policy", p, err, sizeof(err)) != 0 ||
	    policy_reload_ok(current_policy(), p, "policy", err,
	    sizeof(err)) != 0) {
		free(p);
		return *why = err, -1;
	}
	if (strcmp(p->id, m->id) != 0) {
		free(p);
		return *why = "the policy's bytes are not the id stated", -1;
	}
	/* never freed: a request under way may hold the old one */
	current_set(p);
	log_info("frontd: policy %s in force", p->id);
	return 0;
}

/* the waiting request with this id; the caller holds ps_lock */
static struct pending *
slot_find(uint32_t id)
{
	size_t i;

	for (i = 0; i < PENDING_MAX; i++)
		if (ps_pending[i].id == id && !ps_pending[i].answered)
			return &ps_pending[i];
	return NULL;
}

/*
 * privd is gone (it stops the pair by closing the socketpair, or it died):
 * every request waiting on it wakes and is answered 503 by its handler
 * (inside the 200 an execution was already committed to, as any late
 * failure), the HTTP side stops accepting and gets PRIVD_LOST_S to send
 * those answers, then frontd exits: the supervisor restarts the pair.
 */
static void __attribute__((noreturn))
privd_lost(const char *why)
{
	size_t i, waiting = 0;

	pthread_mutex_lock(&ps_lock);
	ps_gone = 1;
	for (i = 0; i < PENDING_MAX; i++)
		if (ps_pending[i].id != 0 && !ps_pending[i].answered &&
		    !ps_pending[i].abandoned)
			waiting++;
	pthread_cond_broadcast(&ps_cond);
	pthread_mutex_unlock(&ps_lock);
	log_info("privsep: %s: %zu requests in flight answered 503; exiting "
	    "within %d s", why, waiting, PRIVD_LOST_S);
	if (ps_lost != NULL)
		ps_lost(PRIVD_LOST_S);
	_exit(0);
}

static void *
reader(void *arg)
{
	union {
		struct ipc_exec_done	align;
		char			buf[IPC_MSG_MAX + 1];
	} u;
	int fds[IPC_FDS_MAX];

	(void)arg;
	for (;;) {
		const struct dispatch *dp = NULL;
		struct pending *p;
		struct ipc_hdr h;
		const char *why;
		size_t nfds, i;
		ssize_t n;

		n = ipc_recv(ps_sock, u.buf, sizeof(u.buf), fds, &nfds);
		if (n <= 0)
			privd_lost(n == 0 ? "privd closed the connection" :
			    "privd's connection failed");
		if (ipc_check(u.buf, (size_t)n, nfds, &why) != 0)
			fatalx("privsep: bad message from privd: %s", why);
		memcpy(&h, u.buf, sizeof(h));
		for (i = 0; i < sizeof(dispatch) / sizeof(dispatch[0]); i++)
			if (dispatch[i].type == h.type)
				dp = &dispatch[i];
		if (dp == NULL || (size_t)n != dp->size || nfds > dp->nfds_max)
			fatalx("privsep: privd sent type %u (%zd bytes, %zu fds), "
			    "not an answer", h.type, n, nfds);
		if (dp->at == UNASKED) {
			if (dp->accept(NULL, u.buf, fds, nfds, &why) != 0)
				fatalx("privsep: bad message %u from privd: %s",
				    h.type, why);
			close_fds(fds, nfds);
			continue;
		}
		pthread_mutex_lock(&ps_lock);
		if ((p = slot_find(h.id)) == NULL || (p->want != h.type &&
		    h.type != IPC_PTC_LINE))
			fatalx("privsep: unexpected answer type %u for id %u",
			    h.type, h.id);
		if (dp->accept != NULL && dp->accept(p, u.buf, fds, nfds, &why) != 0)
			fatalx("privsep: bad answer %u from privd: %s", h.id, why);
		if (p->abandoned && h.type == IPC_PTC_LINE) {
			/* nobody relays it: privd ends the run at the cancel */
			close_fds(fds, nfds);
			pthread_mutex_unlock(&ps_lock);
			continue;
		}
		p->line = h.type == IPC_PTC_LINE;
		if (p->abandoned) {
			/* the waiter gave up: drop the answer */
			close_fds(fds, nfds);
			p->id = 0;
			pthread_mutex_unlock(&ps_lock);
			continue;
		}
		memcpy((char *)p + dp->at, u.buf, dp->size);
		memcpy(p->fds, fds, nfds * sizeof(int));
		p->nfds = nfds;
		p->answered = 1;
		pthread_cond_broadcast(&ps_cond);
		pthread_mutex_unlock(&ps_lock);
	}
	return NULL;
}

void
privsep_init(int sock, void (*lost)(unsigned int))
{
	ps_sock = sock;
	ps_lost = lost;
	if (cw_thread_spawn(NULL, reader, NULL, 128 * 1024) != 0)
		fatal("privsep_init: pthread_create");
}

/* a pending slot with a fresh id; the caller holds nothing */
static struct pending *
slot_new(uint32_t want, int session)
{
	struct pending *p = NULL;
	size_t i;

	pthread_mutex_lock(&ps_lock);
	for (i = 0; i < PENDING_MAX && !ps_gone; i++) {
		if (ps_pending[i].id == 0) {
			p = &ps_pending[i];
			memset(p, 0, sizeof(*p));
			p->id = ps_next_id++;
			p->want = want;
			p->session = session;
			if (ps_next_id == 0)
				ps_next_id = 1;
			break;
		}
	}
	pthread_mutex_unlock(&ps_lock);
	return p;
}

/* wait for the answer; on timeout the slot is abandoned to the reader */
static int
slot_wait(struct pending *p, uint32_t wait_ms)
{
	struct timespec ts;
	int r = 0;

	cw_abstime_ms(&ts, wait_ms);
	pthread_mutex_lock(&ps_lock);
	while (!p->answered && !ps_gone && r == 0)
		r = pthread_cond_timedwait(&ps_cond, &ps_lock, &ts);
	if (!p->answered) {
		p->abandoned = 1;
		pthread_mutex_unlock(&ps_lock);
		return -1;
	}
	pthread_mutex_unlock(&ps_lock);
	return 0;
}

static void
slot_free(struct pending *p)
{
	pthread_mutex_lock(&ps_lock);
	p->id = 0;
	pthread_mutex_unlock(&ps_lock);
}

/*
 * A send that fails because privd is gone (the reader sees its end of file
 * and answers this request with the others); any other failure is fatal.
 */
static int
send_or_die(const void *msg, size_t len, const int *fds, size_t nfds)
{
	if (ipc_send(ps_sock, msg, len, fds, nfds) == 0)
		return 0;
	if (errno != EPIPE && errno != ECONNRESET)
		fatal("privsep: send to privd");
	pthread_mutex_lock(&ps_lock);
	ps_gone = 1;
	pthread_mutex_unlock(&ps_lock);
	return -1;
}

int
privsep_gone(void)
{
	int gone;

	pthread_mutex_lock(&ps_lock);
	gone = ps_gone;
	pthread_mutex_unlock(&ps_lock);
	return gone;
}

int
privsep_notify(const void *msg, size_t len, const int *fds, size_t nfds)
{
	int sent;

	/* (no privd at all: the HTTP side alone, as its tests run it) */
	if (ps_sock < 0 || privsep_gone())
		return -1;
	pthread_mutex_lock(&ps_send);
	sent = send_or_die(msg, len, fds, nfds);
	pthread_mutex_unlock(&ps_send);
	return sent;
}

/* an execution's sequence to privd under p's id: 0, or -1 once privd has gone */
static int
send_exec(struct pending *p, struct ipc_exec_begin *begin, int code_fd,
    const struct privd_input *in, size_t nin)
{
	struct ipc_exec_file f;
	struct ipc_exec_run run;
	size_t i;
	int sent;

	ipc_hdr_init(&begin->hdr, IPC_EXEC_BEGIN, sizeof(*begin), p->id);
	begin->nfiles = (uint32_t)nin;

	pthread_mutex_lock(&ps_send);
	sent = send_or_die(begin, sizeof(*begin), &code_fd, 1);
	for (i = 0; i < nin && sent == 0; i++) {
		memset(&f, 0, sizeof(f));
		ipc_hdr_init(&f.hdr, IPC_EXEC_FILE, sizeof(f), p->id);
		strncpy(f.name, in[i].name, sizeof(f.name) - 1);
		f.size = in[i].size;
		sent = send_or_die(&f, sizeof(f), &in[i].fd, 1);
	}
	memset(&run, 0, sizeof(run));
	ipc_hdr_init(&run.hdr, IPC_EXEC_RUN, sizeof(run), p->id);
	if (sent == 0)
		sent = send_or_die(&run, sizeof(run), NULL, 0);
	pthread_mutex_unlock(&ps_send);
	return sent;
}

/* p's EXEC_DONE into res (its descriptors the caller's), p freed */
static void
take_done(struct pending *p, struct privd_result *res)
{
	size_t i = 0;

	res->done = p->done;
	if (p->done.fds & IPC_DONE_OUTPUT)
		res->output_fd = p->fds[i++];
	if (p->done.fds & IPC_DONE_ARCHIVE)
		res->archive_fd = p->fds[i++];
	slot_free(p);
}

int
privd_req_exec(struct ipc_exec_begin *begin, int code_fd,
    const struct privd_input *in, size_t nin, struct privd_result *res,
    uint32_t wait_ms)
{
	struct pending *p;
	int sent;

	memset(res, 0, sizeof(*res));
	res->output_fd = res->archive_fd = -1;
	if ((p = slot_new(IPC_EXEC_DONE, begin->session[0] != '\0')) == NULL)
		return -1;
	sent = send_exec(p, begin, code_fd, in, nin);
	if (slot_wait(p, sent == 0 ? wait_ms : 0) < 0) {
		if (!privsep_gone())
			log_warnx("privd_req_exec: no answer for %u in %u ms",
			    p->id, wait_ms);
		return -1;
	}
	take_done(p, res);
	return 0;
}

/* the programmatic run of this id, the caller holds ps_lock */
static struct pending *
ptc_slot(uint32_t id)
{
	size_t i;

	for (i = 0; id != 0 && i < PENDING_MAX; i++)
		if (ps_pending[i].id == id && ps_pending[i].ptc &&
		    !ps_pending[i].abandoned)
			return &ps_pending[i];
	return NULL;
}

uint32_t
privd_ptc_start(struct ipc_exec_begin *begin, int code_fd,
    const struct privd_input *in, size_t nin)
{
	struct pending *p;

	/* (no privd at all: the HTTP side alone, as its tests run it) */
	if (ps_sock < 0 || (p = slot_new(IPC_EXEC_DONE, 0)) == NULL)
		return 0;
	pthread_mutex_lock(&ps_lock);
	p->ptc = 1;
	pthread_mutex_unlock(&ps_lock);
	if (send_exec(p, begin, code_fd, in, nin) != 0) {
		slot_free(p);
		return 0;
	}
	return p->id;
}

int
privd_ptc_next(uint32_t id, uint32_t wait_ms, int *linefd, uint64_t *len,
    struct privd_result *res)
{
	struct timespec ts;
	struct pending *p;
	int r = 0;

	memset(res, 0, sizeof(*res));
	res->output_fd = res->archive_fd = *linefd = -1;
	cw_abstime_ms(&ts, wait_ms);
	pthread_mutex_lock(&ps_lock);
	if ((p = ptc_slot(id)) == NULL) {
		pthread_mutex_unlock(&ps_lock);
		return -1;
	}
	while (!p->answered && !ps_gone && r == 0)
		r = pthread_cond_timedwait(&ps_cond, &ps_lock, &ts);
	if (!p->answered) {
		pthread_mutex_unlock(&ps_lock);
		return -1;
	}
	if (p->line) {
		/* the slot waits on, for the next line or the end */
		*linefd = p->fds[0];
		*len = p->ptc_line.len;
		p->answered = p->line = 0;
		p->nfds = 0;
		pthread_mutex_unlock(&ps_lock);
		return 1;
	}
	pthread_mutex_unlock(&ps_lock);
	take_done(p, res);
	return 0;
}

int
privd_ptc_reply(uint32_t id, int fd, uint64_t len)
{
	struct ipc_ptc_line m;

	memset(&m, 0, sizeof(m));
	ipc_hdr_init(&m.hdr, IPC_PTC_REPLY, sizeof(m), id);
	m.len = len;
	return privsep_notify(&m, sizeof(m), &fd, 1);
}

void
privd_ptc_cancel(uint32_t id)
{
	struct ipc_hdr h;	/* EXEC_CANCEL is a bare header */

	ipc_hdr_init(&h, IPC_EXEC_CANCEL, sizeof(struct ipc_exec_cancel), id);
	(void)privsep_notify(&h, sizeof(h), NULL, 0);
}

void
privd_ptc_drop(uint32_t id)
{
	struct pending *p;

	privd_ptc_cancel(id);
	pthread_mutex_lock(&ps_lock);
	if ((p = ptc_slot(id)) != NULL) {
		if (p->answered && !p->line) {
			/* its end came already: nothing more will */
			close_fds(p->fds, p->nfds);
			p->id = 0;
		} else {
			if (p->answered)
				close_fds(p->fds, p->nfds);
			p->answered = p->line = 0;
			p->abandoned = 1;	/* the reader frees it at the end */
		}
	}
	pthread_mutex_unlock(&ps_lock);
}

/*
 * HEALTH and METRICS are a bare header: send one and wait for its answer.
 * Returns the answered slot (the caller frees it), or NULL.
 */
_Static_assert(sizeof(struct ipc_health) == sizeof(struct ipc_hdr), "bare HEALTH");
_Static_assert(sizeof(struct ipc_exec_cancel) == sizeof(struct ipc_hdr), "bare CANCEL");
_Static_assert(sizeof(struct ipc_metrics) == sizeof(struct ipc_hdr), "bare METRICS");

static struct pending *
single_request(uint32_t type, uint32_t answer, uint32_t wait_ms)
{
	struct ipc_hdr h;
	struct pending *p;

	if ((p = slot_new(answer, 0)) == NULL)
		return NULL;
	ipc_hdr_init(&h, type, sizeof(h), p->id);
	pthread_mutex_lock(&ps_send);
	if (send_or_die(&h, sizeof(h), NULL, 0) != 0)
		wait_ms = 0;
	pthread_mutex_unlock(&ps_send);
	if (slot_wait(p, wait_ms) < 0)
		return NULL;
	return p;
}

int
privd_req_health(uint32_t wait_ms)
{
	struct pending *p;
	int ok;

	if ((p = single_request(IPC_HEALTH, IPC_HEALTH_REPLY, wait_ms)) == NULL)
		return 0;
	ok = p->health.ok == 1;
	slot_free(p);
	return ok;
}

int
privd_req_metrics(struct ipc_metrics_reply *out, uint32_t wait_ms)
{
	struct pending *p;

	if ((p = single_request(IPC_METRICS, IPC_METRICS_REPLY, wait_ms)) == NULL)
		return -1;
	*out = p->metrics;
	slot_free(p);
	return 0;
}
