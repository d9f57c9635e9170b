/*
 * The monitor: privd's answer to frontd, OpenSSH style. One static table says
 * for each request type in which connection state it is legal and which
 * answer_* handles it; ipc_check() has already verified size, fds and fields.
 * An unknown type, a wrong state or a malformed message is a protocol
 * violation: privd stops, and the supervisor restarts the pair.
 */
#include "monitor.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custody.h"
#include "health.h"
#include "log.h"
#include "privd.h"
#include "ptcrelay.h"
#include "util.h"

enum mstate {
	ST_IDLE = 1 << 0,	/* between executions */
	ST_BUILDING = 1 << 1,	/* after EXEC_BEGIN, until EXEC_RUN */
};

struct monitor {
	enum mstate	state;
	struct job	*job;		/* the one being built */
};

/* 0, or -1 for a protocol violation (privd then stops) */
typedef int answer_fn(struct monitor *, const void *, const int *, size_t);

static answer_fn answer_exec_begin, answer_exec_file, answer_exec_run,
    answer_health, answer_metrics, answer_conn_hold, answer_conn_state,
    answer_conn_drop, answer_ptc_reply, answer_exec_cancel;

/*
 * Every request frontd may send: its exact size, the descriptors it carries
 * (exactly; an fd on any other message is a violation), the states in which
 * it is legal, and its answer. ipc_check() has applied ipc.c's shapes and
 * field rules already; this table is privd's own, narrower statement.
 */
static const struct dispatch {
	uint32_t	type;
	size_t		size;
	size_t		nfds;
	unsigned	states;
	answer_fn	*fn;
} dispatch[] = {
	{ IPC_EXEC_BEGIN, sizeof(struct ipc_exec_begin), 1, ST_IDLE, answer_exec_begin },
	{ IPC_EXEC_FILE, sizeof(struct ipc_exec_file), 1, ST_BUILDING, answer_exec_file },
	{ IPC_EXEC_RUN, sizeof(struct ipc_exec_run), 0, ST_BUILDING, answer_exec_run },
	{ IPC_HEALTH, sizeof(struct ipc_health), 0, ST_IDLE, answer_health },
	{ IPC_METRICS, sizeof(struct ipc_metrics), 0, ST_IDLE, answer_metrics },
	{ IPC_CONN_HOLD, sizeof(struct ipc_conn_hold), 1, ST_IDLE, answer_conn_hold },
	{ IPC_CONN_STATE, sizeof(struct ipc_conn_state), 0, ST_IDLE, answer_conn_state },
	{ IPC_CONN_DROP, sizeof(struct ipc_conn_drop), 0, ST_IDLE, answer_conn_drop },
	{ IPC_PTC_REPLY, sizeof(struct ipc_ptc_line), 1, ST_IDLE, answer_ptc_reply },
	{ IPC_EXEC_CANCEL, sizeof(struct ipc_exec_cancel), 0, ST_IDLE,
	    answer_exec_cancel },
};

static void
refuse(struct job *j, uint32_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
violation(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("protocol violation: %s", msg);
	return -1;
}

/* a policy refusal: remembered, answered at EXEC_RUN (first one wins) */
static void
refuse(struct job *j, uint32_t status, const char *fmt, ...)
{
	va_list ap;

	if (j->refuse_status != IPC_ST_OK)
		return;
	j->refuse_status = status;
	va_start(ap, fmt);
	vsnprintf(j->refuse_why, sizeof(j->refuse_why), fmt, ap);
	va_end(ap);
}

static int
answer_exec_begin(struct monitor *m, const void *buf, const int *fds, size_t nfds)
{
	const struct ipc_exec_begin *req = buf;
	const struct policy *p = privd.policy;	/* the run's, to its end */
	struct job *j;
	struct stat st;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatalx("answer_exec_begin: out of memory");
	j->id = req->hdr.id;
	j->policy = p;
	j->code_fd = fds[0];
	j->code_len = req->code_len;
	j->nfiles = req->nfiles;
	j->opts = req->opts;
	j->argc = req->argc;
	j->args_len = req->args_len;
	memcpy(j->args, req->args, sizeof(j->args));
	memcpy(j->user, req->user, sizeof(j->user));
	/* a session only when the policy keeps sessions (frontd asks only then) */
	if (p->sessions > 0)
		memcpy(j->session, req->session, sizeof(j->session));
	/* inputs by the inbox only where the run's workers have it bound */
	if (p->inputs == INPUTS_INBOX && p->isolation == ISOLATION_JAIL &&
	    p->runtime == RUNTIME_RUNC)
		memcpy(j->inbox, req->inbox, sizeof(j->inbox));
	m->job = j;
	m->state = ST_BUILDING;

	/* the code: a sealed memfd of exactly the announced size */
	if (!cw_memfd_is_sealed(j->code_fd) || fstat(j->code_fd, &st) != 0 ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != req->code_len)
		return violation("answer_exec_begin: code is not a sealed memfd of %llu bytes",
		    (unsigned long long)req->code_len);
	j->in_bytes = req->code_len;
	if (req->code_len > p->code_max)
		refuse(j, IPC_ST_TOO_LARGE, "code is larger than the policy's %llu bytes",
		    (unsigned long long)p->code_max);
	j->lang = policy_lang_from_name(req->lang);
	if (j->lang < 0 || !p->langs[j->lang].enabled)
		refuse(j, IPC_ST_REFUSED, "language '%s' is not enabled by the policy",
		    req->lang);
	if (req->nfiles > p->files_per_exec)
		refuse(j, IPC_ST_TOO_LARGE, "%u input files; the policy allows %u",
		    req->nfiles, p->files_per_exec);
	/* a program held while the client runs its tools: a worker's channel */
	if ((req->opts & IPC_OPT_PTC) && p->isolation != ISOLATION_JAIL)
		refuse(j, IPC_ST_REFUSED, "programmatic tool calling needs "
		    "isolation jail");
	/* a request's timeout lowers the limit, never raises it: clamp */
	j->timeout_ms = req->timeout_ms == 0 ? p->time_default_ms : req->timeout_ms;
	if (j->timeout_ms > p->time_max_ms)
		j->timeout_ms = p->time_max_ms;
	(void)nfds;
	return 0;
}

static int
answer_exec_file(struct monitor *m, const void *buf, const int *fds, size_t nfds)
{
	const struct ipc_exec_file *req = buf;
	struct job *j = m->job;
	struct job_file *f;
	struct stat st;
	int fl;

	if (req->hdr.id != j->id)
		return violation("answer_exec_file: id %u inside execution %u", req->hdr.id, j->id);
	if (j->nrecv >= j->nfiles) {
		close(fds[0]);
		return violation("answer_exec_file: more files than announced");
	}
	f = &j->files[j->nrecv++];
	f->fd = fds[0];
	memcpy(f->name, req->name, sizeof(f->name));
	f->size = req->size;
	/* a read-only regular file of exactly the announced size */
	if ((fl = fcntl(f->fd, F_GETFL)) < 0 || (fl & O_ACCMODE) != O_RDONLY ||
	    (fl & O_PATH) != 0)
		return violation("answer_exec_file: fd is not open read-only");
	if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != req->size)
		return violation("answer_exec_file: fd is not a regular file of %llu bytes",
		    (unsigned long long)req->size);
	if (req->size > j->policy->upload_max)
		refuse(j, IPC_ST_TOO_LARGE, "file '%s' is larger than the policy's %llu bytes",
		    req->name, (unsigned long long)j->policy->upload_max);
	/* everything placed in /mnt/data must fit in it */
	j->in_bytes = req->size > UINT64_MAX - j->in_bytes ? UINT64_MAX :
	    j->in_bytes + req->size;
	if (j->in_bytes > j->policy->workdir_size)
		refuse(j, IPC_ST_TOO_LARGE, "the code and input files (%llu bytes) "
		    "do not fit in the policy's work directory of %llu bytes",
		    (unsigned long long)j->in_bytes,
		    (unsigned long long)j->policy->workdir_size);
	(void)nfds;
	return 0;
}

static int
answer_exec_run(struct monitor *m, const void *buf, const int *fds, size_t nfds)
{
	const struct ipc_exec_run *req = buf;
	struct job *j = m->job;
	struct ipc_exec_done d;

	if (req->hdr.id != j->id)
		return violation("answer_exec_run: id %u inside execution %u", req->hdr.id, j->id);
	if (j->nrecv != j->nfiles)
		return violation("answer_exec_run: %u of %u files", j->nrecv, j->nfiles);
	m->job = NULL;
	m->state = ST_IDLE;
	job_done_init(j, &d);
	if (j->refuse_status == IPC_ST_OK && run_admit(j) < 0) {
		j->refuse_status = IPC_ST_BUSY;
		snprintf(j->refuse_why, sizeof(j->refuse_why),
		    "too many executions at once");
	}
	if (j->refuse_status != IPC_ST_OK) {
		size_t i;

		d.status = j->refuse_status;
		snprintf(d.message, sizeof(d.message), "%s", j->refuse_why);
		for (i = 0; d.message[i]; i++)
			if (d.message[i] < 0x20 || d.message[i] > 0x7e)
				d.message[i] = '?';
		run_refuse(j, &d);
		return 0;
	}
	run_start(j);
	(void)fds;
	(void)nfds;
	return 0;
}

static int
answer_health(struct monitor *m, const void *buf, const int *fds, size_t nfds)
{
	const struct ipc_health *req = buf;

	health_reply(req->hdr.id);
	(void)m;
	(void)fds;
	(void)nfds;
	return 0;
}

static int
answer_metrics(struct monitor *m, const void *buf, const int *fds, size_t nfds)
{
	const struct ipc_metrics *req = buf;

	metrics_reply(req->hdr.id);
	(void)m;
	(void)fds;
	(void)nfds;
	return 0;
}

/* custody (custody.c): a copy of a client's socket, its state, its end */
static int
answer_conn_hold(struct monitor *m, const void *buf, const int *fds, size_t nfds)
{
	const struct ipc_conn_hold *req = buf;

	(void)m;
	(void)nfds;
	if (custody_hold(req->hdr.id, req->mode, fds[0]) == 0)
		return 0;
	close(fds[0]);
	return violation("answer_conn_hold: %u refused", req->hdr.id);
}

static int
answer_conn_state(struct monitor *m, const void *buf, const int *fds, size_t nfds)
{
	const struct ipc_conn_state *req = buf;

	(void)m;
	(void)fds;
	(void)nfds;
	return custody_state(req->hdr.id, req->state);
}

static int
answer_conn_drop(struct monitor *m, const void *buf, const int *fds, size_t nfds)
{
	const struct ipc_conn_drop *req = buf;

	(void)m;
	(void)fds;
	(void)nfds;
	return custody_drop(req->hdr.id);
}

/*
 * A programmatic run's results line (ptcrelay.c): a sealed memfd of
 * exactly the length stated; privd relays it unread. A reply no run waits
 * for is dropped: the run may have ended a moment before.
 */
static int
answer_ptc_reply(struct monitor *m, const void *buf, const int *fds, size_t nfds)
{
	const struct ipc_ptc_line *req = buf;
	struct stat st;

	(void)m;
	(void)nfds;
	if (!cw_memfd_is_sealed(fds[0]) || fstat(fds[0], &st) != 0 ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != req->len) {
		close(fds[0]);
		return violation("answer_ptc_reply: not a sealed memfd of %llu bytes",
		    (unsigned long long)req->len);
	}
	ptc_relay_reply(req->hdr.id, fds[0], req->len);
	return 0;
}

static int
answer_exec_cancel(struct monitor *m, const void *buf, const int *fds,
    size_t nfds)
{
	const struct ipc_exec_cancel *req = buf;

	(void)m;
	(void)fds;
	(void)nfds;
	ptc_relay_cancel(req->hdr.id);
	return 0;
}

static void
close_all(const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

int
monitor_loop(int sock, volatile int *stop, int wakefd, void (*woken)(void))
{
	struct monitor m = { ST_IDLE, NULL };
	union {
		struct ipc_exec_begin	align;
		char			buf[IPC_MSG_MAX + 1];
	} u;
	int fds[IPC_FDS_MAX];

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sock, .events = POLLIN | POLLRDHUP },
			{ .fd = wakefd, .events = POLLIN },
		};
		const struct dispatch *dp = NULL;
		const char *why;
		struct ipc_hdr h;
		size_t nfds, i;
		ssize_t n;

		if (*stop)
			break;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("monitor_loop: poll");
		}
		if (pfd[1].revents) {
			char drain[64];

			if (*stop || woken == NULL)
				break;
			/* (main.c's wake-up pipe is non-blocking) */
			while (read(wakefd, drain, sizeof(drain)) > 0)
				;
			if (*stop)
				break;
			/* between two messages, never inside one */
			woken();
			continue;
		}
		if (!(pfd[0].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)))
			continue;
		n = ipc_recv(sock, u.buf, sizeof(u.buf), fds, &nfds);
		if (n == 0 && !(pfd[0].revents & (POLLHUP | POLLRDHUP | POLLERR))) {
			/* SOCK_SEQPACKET: an empty datagram from a live peer */
			log_warnx("monitor_loop: protocol violation: empty message");
			job_free(m.job);
			return -1;
		}
		if (n == 0) {
			log_info("monitor_loop: frontd closed the connection");
			break;
		}
		if (n < 0) {
			log_warn("monitor_loop: protocol violation: receive");
			job_free(m.job);
			return -1;
		}
		if (ipc_check(u.buf, (size_t)n, nfds, &why) != 0) {
			log_warnx("monitor_loop: protocol violation: %s", why);
			close_all(fds, nfds);
			job_free(m.job);
			return -1;
		}
		memcpy(&h, u.buf, sizeof(h));
		for (i = 0; i < sizeof(dispatch) / sizeof(dispatch[0]); i++)
			if (dispatch[i].type == h.type)
				dp = &dispatch[i];
		if (dp == NULL || !(dp->states & m.state) ||
		    (size_t)n != dp->size || nfds != dp->nfds) {
			log_warnx("monitor_loop: protocol violation: type %u "
			    "(%zd bytes, %zu fds) in state %d", h.type, n, nfds,
			    (int)m.state);
			close_all(fds, nfds);
			job_free(m.job);
			return -1;
		}
		if (dp->fn(&m, u.buf, fds, nfds) != 0) {
			job_free(m.job);
			return -1;
		}
	}
	job_free(m.job);
	return 0;
}
