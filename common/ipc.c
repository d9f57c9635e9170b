#include "ipc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "utf8.h"

static const struct ipc_shape ipc_shapes[] = {
	{ IPC_EXEC_BEGIN,	sizeof(struct ipc_exec_begin),	1, 1 },
	{ IPC_EXEC_FILE,	sizeof(struct ipc_exec_file),	1, 1 },
	{ IPC_EXEC_RUN,		sizeof(struct ipc_exec_run),	0, 0 },
	{ IPC_HEALTH,		sizeof(struct ipc_health),	0, 0 },
	{ IPC_METRICS,		sizeof(struct ipc_metrics),	0, 0 },
	{ IPC_CONN_HOLD,	sizeof(struct ipc_conn_hold),	1, 1 },
	{ IPC_CONN_STATE,	sizeof(struct ipc_conn_state),	0, 0 },
	{ IPC_CONN_DROP,	sizeof(struct ipc_conn_drop),	0, 0 },
	{ IPC_EXEC_CANCEL,	sizeof(struct ipc_exec_cancel),	0, 0 },
	{ IPC_PTC_REPLY,	sizeof(struct ipc_ptc_line),	1, 1 },
	{ IPC_EXEC_DONE,	sizeof(struct ipc_exec_done),	0, 2 },
	{ IPC_HEALTH_REPLY,	sizeof(struct ipc_health_reply), 0, 0 },
	{ IPC_METRICS_REPLY,	sizeof(struct ipc_metrics_reply), 0, 0 },
	{ IPC_POLICY,		sizeof(struct ipc_policy),	1, 1 },
	{ IPC_PTC_LINE,		sizeof(struct ipc_ptc_line),	1, 1 },
};

const uint32_t ipc_duration_bounds_ms[IPC_HIST_BUCKETS - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000,
};
const uint32_t ipc_wait_bounds_ms[IPC_HIST_BUCKETS - 1] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
};

static const char *const outcome_names[IPC_OUTCOMES] = {
	[IPC_OUT_OK] = "ok", [IPC_OUT_ERROR] = "error", [IPC_OUT_TIME] = "time",
	[IPC_OUT_MEMORY] = "memory", [IPC_OUT_OUTPUT] = "output",
	[IPC_OUT_BUSY] = "busy", [IPC_OUT_REFUSED] = "refused",
	[IPC_OUT_TOO_LARGE] = "too_large", [IPC_OUT_UNAVAILABLE] = "unavailable",
};

static const char *const refusal_names[IPC_REFUSALS] = {
	[IPC_REFUSE_REQUEST] = "request", [IPC_REFUSE_POLICY] = "policy",
	[IPC_REFUSE_NOT_OWNED] = "not_owned", [IPC_REFUSE_STATE] = "state",
	[IPC_REFUSE_TOO_LARGE] = "too_large", [IPC_REFUSE_TIMEOUT] = "timeout",
	[IPC_REFUSE_DAEMON] = "daemon", [IPC_REFUSE_BUSY] = "busy",
};

const char *
ipc_outcome_name(unsigned int outcome)
{
	return outcome < IPC_OUTCOMES ? outcome_names[outcome] : NULL;
}

const char *
ipc_refusal_name(unsigned int refusal)
{
	return refusal < IPC_REFUSALS ? refusal_names[refusal] : NULL;
}

unsigned int
ipc_hist_bucket(const uint32_t *bounds_ms, uint64_t us)
{
	unsigned int i;

	for (i = 0; i < IPC_HIST_BUCKETS - 1; i++)
		if (us <= (uint64_t)bounds_ms[i] * 1000)
			return i;
	return IPC_HIST_BUCKETS - 1;
}

const struct ipc_shape *
ipc_shape(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(ipc_shapes) / sizeof(ipc_shapes[0]); i++)
		if (ipc_shapes[i].type == type)
			return &ipc_shapes[i];
	return NULL;
}

void
ipc_hdr_init(struct ipc_hdr *h, uint32_t type, size_t len, uint32_t id)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->len = (uint32_t)len;
	h->id = id;
}

int
ipc_send(int sock, const void *msg, size_t len, const int *fds, size_t nfds)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
		struct cmsghdr	align;
	} cmsgbuf;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh;
	ssize_t n;

	if (nfds > IPC_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		mh.msg_control = cmsgbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

static void
close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

ssize_t
ipc_recv(int sock, void *buf, size_t buflen, int *fds, size_t *nfds)
{
	/* room for more fds than allowed, so that excess is detected */
	union {
		char		buf[CMSG_SPACE(sizeof(int) * (IPC_FDS_MAX + 8))];
		struct cmsghdr	align;
	} cmsgbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = buflen };
	struct msghdr mh;
	struct cmsghdr *c;
	int got[IPC_FDS_MAX + 8];
	size_t ngot = 0, i;
	int bad = 0;
	ssize_t n;

	*nfds = 0;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (ngot < sizeof(got) / sizeof(got[0]))
				got[ngot++] = fd;
			else
				close(fd);
		}
	}
	if (bad || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    ngot > IPC_FDS_MAX) {
		close_fds(got, ngot);
		errno = EPROTO;
		return -1;
	}
	if (n == 0 && ngot > 0) {
		close_fds(got, ngot);
		errno = EPROTO;
		return -1;
	}
	memcpy(fds, got, ngot * sizeof(int));
	*nfds = ngot;
	return n;
}

/* the string occupies exactly [0, size) with a NUL inside, and zeros after */
static int
fixed_string(const char *s, size_t size, size_t *len)
{
	const char *nul = memchr(s, '\0', size);
	size_t i;

	if (nul == NULL)
		return -1;
	*len = (size_t)(nul - s);
	for (i = *len; i < size; i++)
		if (s[i] != '\0')
			return -1;
	return 0;
}

int
ipc_lang_ok(const char *s, size_t size)
{
	size_t len, i;

	if (fixed_string(s, size, &len) < 0 || len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

int
ipc_user_ok(const char *s, size_t size)
{
	size_t len, i;

	if (fixed_string(s, size, &len) < 0)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
		    c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

/*
 * A name is a relative path inside the work directory: components separated
 * by single '/', none empty, "." or "..", no control characters, valid UTF-8.
 */
int
ipc_name_ok(const char *s, size_t size)
{
	size_t len, i, start = 0;

	if (fixed_string(s, size, &len) < 0 || len == 0)
		return 0;
	if (!utf8_valid((const unsigned char *)s, len))
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))
			return 0;
		if (i == len || s[i] == '/') {
			size_t clen = i - start;

			if (clen == 0 || clen > 100)
				return 0;
			if (clen == 1 && s[start] == '.')
				return 0;
			if (clen == 2 && s[start] == '.' && s[start + 1] == '.')
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

int
ipc_message_ok(const char *s, size_t size)
{
	size_t len, i;

	if (fixed_string(s, size, &len) < 0)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

const char *
ipc_args_next(const struct ipc_exec_begin *m, size_t *off)
{
	const char *s;

	if (*off >= m->args_len)
		return NULL;
	s = m->args + *off;
	*off += strlen(s) + 1;
	return s;
}

static int
check_exec_begin(const struct ipc_exec_begin *m, const char **why)
{
	size_t i, argc = 0;

	if (!ipc_lang_ok(m->lang, sizeof(m->lang)))
		return *why = "bad lang", -1;
	if (!ipc_user_ok(m->user, sizeof(m->user)))
		return *why = "bad user", -1;
	if (!ipc_session_ok(m->session, sizeof(m->session)))
		return *why = "bad session key", -1;
	if (m->session[0] != '\0' && !(m->opts & IPC_OPT_STATEFUL))
		return *why = "a session key without the stateful option", -1;
	if (!ipc_session_ok(m->inbox, sizeof(m->inbox)))
		return *why = "bad inbox name", -1;
	if (m->nfiles > IPC_FILES_MAX)
		return *why = "too many files", -1;
	if (m->opts & ~IPC_OPT_ALL)
		return *why = "unknown option bits", -1;
	if ((m->opts & IPC_OPT_PTC) && (m->opts & IPC_OPT_STATEFUL))
		return *why = "a programmatic run in a session", -1;
	if (m->reserved != 0)
		return *why = "reserved field set", -1;
	if (m->argc > IPC_ARGC_MAX || m->args_len > sizeof(m->args))
		return *why = "bad args size", -1;
	/* args: exactly argc NUL-terminated valid UTF-8 strings, zeros after */
	if (m->args_len > 0 && m->args[m->args_len - 1] != '\0')
		return *why = "args not terminated", -1;
	for (i = 0; i < m->args_len; i++)
		if (m->args[i] == '\0')
			argc++;
	if (argc != m->argc)
		return *why = "argc mismatch", -1;
	for (i = 0; i < m->args_len; i += strlen(m->args + i) + 1)
		if (!utf8_valid((const unsigned char *)m->args + i,
		    strlen(m->args + i)))
			return *why = "args not UTF-8", -1;
	for (i = m->args_len; i < sizeof(m->args); i++)
		if (m->args[i] != '\0')
			return *why = "bytes after args", -1;
	return 0;
}

static int
check_exec_done(const struct ipc_exec_done *m, size_t nfds, const char **why)
{
	size_t want;

	if (m->status > IPC_ST_MAX)
		return *why = "bad status", -1;
	if (m->kill > IPC_KILL_MAX)
		return *why = "bad kill reason", -1;
	if (m->fds & ~IPC_DONE_ALL)
		return *why = "unknown fd bits", -1;
	want = (m->fds & IPC_DONE_OUTPUT ? 1u : 0u) +
	    (m->fds & IPC_DONE_ARCHIVE ? 1u : 0u);
	if (want != nfds)
		return *why = "fd count does not match", -1;
	if (m->status != IPC_ST_OK && m->fds != 0)
		return *why = "fds on an error", -1;
	if (!ipc_message_ok(m->message, sizeof(m->message)))
		return *why = "bad message text", -1;
	if (m->flags & ~IPC_DF_ALL)
		return *why = "unknown flag bits", -1;
	if ((m->flags & IPC_DF_UNCHANGED) && (m->fds & IPC_DONE_ARCHIVE))
		return *why = "an archive of an unchanged work directory", -1;
	if (m->status != IPC_ST_OK && m->flags != 0)
		return *why = "flags on an error", -1;
	if (m->session > IPC_SESS_MAX)
		return *why = "unknown session outcome", -1;
	if (!ipc_policy_id_ok(m->policy, sizeof(m->policy)))
		return *why = "bad policy id", -1;
	if (m->session == IPC_SESS_NEW_KEPT || m->session == IPC_SESS_REUSED_KEPT) {
		/* kept: the sandbox still runs, so its work directory is known */
		if (m->status != IPC_ST_OK)
			return *why = "a session kept after an error", -1;
		if (!(m->fds & IPC_DONE_ARCHIVE) && !(m->flags & IPC_DF_UNCHANGED))
			return *why = "a kept session's work directory neither "
			    "sent nor unchanged", -1;
	}
	return 0;
}

/* "" or exactly IPC_SESSION_LEN lower-case hex digits, zeros after */
int
ipc_session_ok(const char *s, size_t size)
{
	size_t len, i;

	if (fixed_string(s, size, &len) < 0)
		return 0;
	if (len != 0 && len != IPC_SESSION_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
ipc_policy_id_ok(const char *s, size_t size)
{
	size_t len, i;

	if (fixed_string(s, size, &len) < 0 || len != 7 + 64 ||
	    memcmp(s, "sha256:", 7) != 0)
		return 0;
	for (i = 7; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
check_metrics_reply(const struct ipc_metrics_reply *m, const char **why)
{
	size_t i;

	if (m->proxy_up > 1)
		return *why = "bad proxy_up", -1;
	if (m->pool_ready > m->pool_target)
		return *why = "more pooled sandboxes than the pool holds", -1;
	/* refusal counts are known only when sockproxy answered */
	for (i = 0; i < IPC_REFUSALS && !m->proxy_up; i++)
		if (m->refusals[i] != 0)
			return *why = "refusals without sockproxy", -1;
	if (m->queue_len > m->queue_max || m->queue_max > IPC_QUEUE_MAX)
		return *why = "a queue longer than its policy allows", -1;
	return 0;
}

int
ipc_check(const void *buf, size_t len, size_t nfds, const char **why)
{
	const struct ipc_shape *shape;
	struct ipc_hdr h;

	*why = "ok";
	if (len < sizeof(h))
		return *why = "short message", -1;
	memcpy(&h, buf, sizeof(h));
	if ((shape = ipc_shape(h.type)) == NULL)
		return *why = "unknown type", -1;
	if (len != shape->size || h.len != shape->size)
		return *why = "wrong size", -1;
	if (h.reserved != 0)
		return *why = "reserved header field set", -1;
	if (h.id == 0)
		return *why = "id 0", -1;
	if (nfds < shape->nfds_min || nfds > shape->nfds_max)
		return *why = "wrong number of fds", -1;
	switch (h.type) {
	case IPC_EXEC_BEGIN:
		return check_exec_begin(buf, why);
	case IPC_EXEC_FILE: {
		const struct ipc_exec_file *m = buf;

		if (!ipc_name_ok(m->name, sizeof(m->name)))
			return *why = "bad file name", -1;
		return 0;
	}
	case IPC_EXEC_DONE:
		return check_exec_done(buf, nfds, why);
	case IPC_HEALTH_REPLY: {
		const struct ipc_health_reply *m = buf;

		if (m->ok > 1 || m->reserved != 0)
			return *why = "bad health reply", -1;
		return 0;
	}
	case IPC_METRICS_REPLY:
		return check_metrics_reply(buf, why);
	case IPC_POLICY: {
		const struct ipc_policy *m = buf;

		if (!ipc_policy_id_ok(m->id, sizeof(m->id)))
			return *why = "bad policy id", -1;
		if (m->len > IPC_POLICY_MAX)
			return *why = "bad policy length", -1;
		return 0;
	}
	case IPC_CONN_HOLD: {
		const struct ipc_conn_hold *m = buf;

		if (m->mode != IPC_CONN_CHUNKED && m->mode != IPC_CONN_CLOSE)
			return *why = "bad connection mode", -1;
		if (m->reserved != 0)
			return *why = "reserved field set", -1;
		return 0;
	}
	case IPC_CONN_STATE: {
		const struct ipc_conn_state *m = buf;

		/* HELD is CONN_HOLD's; a state message only moves on from it */
		if (m->state != IPC_CONN_SPACES && m->state != IPC_CONN_RESPONDING)
			return *why = "bad connection state", -1;
		if (m->reserved != 0)
			return *why = "reserved field set", -1;
		return 0;
	}
	case IPC_PTC_LINE:
	case IPC_PTC_REPLY: {
		const struct ipc_ptc_line *m = buf;

		if (m->len == 0 || m->len > IPC_PTC_LINE_MAX)
			return *why = "bad line length", -1;
		return 0;
	}
	case IPC_EXEC_CANCEL:
	case IPC_EXEC_RUN:
	case IPC_HEALTH:
	case IPC_METRICS:
	case IPC_CONN_DROP:
		return 0;
	default:
		return *why = "unknown type", -1;
	}
}
