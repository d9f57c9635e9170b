#include "proxy.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "answer.h"
#include "audit.h"
#include "http.h"
#include "ipc.h"
#include "json.h"
#include "mux.h"
#include "req.h"
#include "tar.h"
#include "upstream.h"

#define CLIENT_WRITE_MS	30000	/* privd must take each piece within this */
#define CHUNK_MAX	16384

struct conn {
	int			fd;
	const struct sp_conf	*conf;
	struct sp_req		req;
	char			head[SP_HEAD_MAX];
	size_t			have;		/* bytes in head[], body start included */
	char			line[200];	/* the request line, escaped, for logs */
	char			uperr[160];
};

/* ---- what this process created ----------------------------------------- */

struct owned {
	char		id[SP_ID_LEN + 1];
	int		image;
	uint64_t	memory, swap, nano_cpus, pids;
	int		gpu;
	int64_t		gpu_count;
	size_t		ngpu_ids;
	char		gpu_ids[POLICY_GPU_IDS_MAX][POLICY_NAME_MAX];
};

struct owned_exec {
	char	id[SP_ID_LEN + 1];
	char	cid[SP_ID_LEN + 1];
	int	started;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct owned containers[SP_CONTAINERS_MAX];
static struct owned_exec execs[SP_EXECS_MAX];

static int
own_add(const char *id, const struct sp_create *cr)
{
	size_t i, k;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_CONTAINERS_MAX; i++) {
		struct owned *o = &containers[i];

		if (o->id[0] != '\0')
			continue;
		memset(o, 0, sizeof(*o));
		memcpy(o->id, id, SP_ID_LEN + 1);
		o->image = cr->image;
		o->memory = cr->memory;
		o->swap = cr->swap;
		o->nano_cpus = cr->nano_cpus;
		o->pids = cr->pids;
		o->gpu = cr->gpu;
		o->gpu_count = cr->gpu_count;
		o->ngpu_ids = cr->ngpu_ids;
		for (k = 0; k < cr->ngpu_ids; k++)
			snprintf(o->gpu_ids[k], sizeof(o->gpu_ids[k]), "%s",
			    cr->gpu_ids[k]);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

/* a copy of the entry, for the checks; -1 when the id is not ours */
static int
own_find(const char *id, struct owned *out)
{
	size_t i;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_CONTAINERS_MAX; i++) {
		if (strcmp(containers[i].id, id) == 0) {
			if (out != NULL)
				*out = containers[i];
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

static int
own_count(void)
{
	size_t i;
	int n = 0;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_CONTAINERS_MAX; i++)
		n += containers[i].id[0] != '\0';
	pthread_mutex_unlock(&table_lock);
	return n;
}

/* forget a container and its execs */
static void
own_del(const char *id)
{
	size_t i;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_CONTAINERS_MAX; i++)
		if (strcmp(containers[i].id, id) == 0)
			containers[i].id[0] = '\0';
	for (i = 0; i < SP_EXECS_MAX; i++)
		if (strcmp(execs[i].cid, id) == 0)
			execs[i].id[0] = execs[i].cid[0] = '\0';
	pthread_mutex_unlock(&table_lock);
}

static int
exec_add(const char *id, const char *cid)
{
	size_t i;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_EXECS_MAX; i++) {
		if (execs[i].id[0] == '\0') {
			memcpy(execs[i].id, id, SP_ID_LEN + 1);
			memcpy(execs[i].cid, cid, SP_ID_LEN + 1);
			execs[i].started = 0;
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

/* the exec's container; claim: mark it started, -2 if it already was */
static int
exec_find(const char *id, char *cid, int claim)
{
	size_t i;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_EXECS_MAX; i++) {
		if (strcmp(execs[i].id, id) != 0)
			continue;
		memcpy(cid, execs[i].cid, SP_ID_LEN + 1);
		r = 0;
		if (claim) {
			if (execs[i].started)
				r = -2;
			execs[i].started = 1;
		}
		break;
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

static void
owned_create(const struct owned *o, struct sp_create *cr)
{
	size_t k;

	memset(cr, 0, sizeof(*cr));
	cr->image = o->image;
	cr->memory = o->memory;
	cr->swap = o->swap;
	cr->nano_cpus = o->nano_cpus;
	cr->pids = o->pids;
	cr->gpu = o->gpu;
	cr->gpu_count = o->gpu_count;
	cr->ngpu_ids = o->ngpu_ids;
	for (k = 0; k < o->ngpu_ids; k++)
		cr->gpu_ids[k] = o->gpu_ids[k];
}

/* ---- the client connection --------------------------------------------- */

/* wait for events on the client before the deadline: 0, -1 error, -2 timeout */
static int
client_wait(struct conn *c, short events, uint64_t deadline)
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

/* > 0 bytes, 0 at EOF, -1 error, -2 timeout */
static ssize_t
client_read(struct conn *c, void *buf, size_t len, uint64_t deadline)
{
	for (;;) {
		ssize_t n;
		int r;

		if ((r = client_wait(c, POLLIN, deadline)) != 0)
			return r;
		n = recv(c->fd, buf, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return n;
	}
}

static int
client_write(struct conn *c, const void *p, size_t n)
{
	const char *s = p;
	uint64_t deadline = sp_now_ms() + CLIENT_WRITE_MS;

	while (n > 0) {
		ssize_t w;

		if (client_wait(c, POLLOUT, deadline) != 0)
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

static void
reply(struct conn *c, int status, const char *body, size_t len)
{
	char head[256];
	int n;

	if (status == 204)
		n = snprintf(head, sizeof(head), "HTTP/1.1 204 No Content\r\n"
		    "Connection: close\r\n\r\n");
	else
		n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n", status, sp_status_text(status), len);
	if (client_write(c, head, (size_t)n) == 0 && status != 204 && len > 0)
		client_write(c, body, len);
}

/*
 * The most sandboxes privd may hold at once under the policy: every admitted
 * run, as many again being removed after their answer, every warm pool
 * (plain and pre-warmed, for each image) and every kept stateful session.
 * A compromised privd gets no more.
 */
static size_t
live_max(const struct policy *p)
{
	size_t n = 2 * (size_t)p->conc_total + 2 * (size_t)p->pool * p->nimages +
	    p->sessions;

	return n < SP_CONTAINERS_MAX ? n : SP_CONTAINERS_MAX;
}


/* ---- refusals: counted by class, one audit line each ------------------- */

static uint64_t refusals[IPC_REFUSALS];
static const struct sp_conf *audit_conf;	/* set at start-up */

static unsigned int
refusal_class(int status)
{
	switch (status) {
	case 403: return IPC_REFUSE_POLICY;
	case 404: return IPC_REFUSE_NOT_OWNED;
	case 408: return IPC_REFUSE_TIMEOUT;
	case 409: return IPC_REFUSE_STATE;
	case 413: return IPC_REFUSE_TOO_LARGE;
	case 502: return IPC_REFUSE_DAEMON;
	case 503: return IPC_REFUSE_BUSY;
	default: return IPC_REFUSE_REQUEST;
	}
}

static void
count_refusal(const struct sp_conf *conf, unsigned int klass, int status,
    const char *line, const char *why)
{
	struct audit a;

	__atomic_add_fetch(&refusals[klass], 1, __ATOMIC_RELAXED);
	audit_begin(&a, "refusal");
	if (conf == NULL)
		conf = audit_conf;
	audit_str(&a, "instance", conf != NULL ? conf->instance : "");
	audit_i64(&a, "status", status);
	audit_str(&a, "class", ipc_refusal_name(klass));
	audit_str(&a, "request", line);
	audit_str(&a, "reason", why);
	if (audit_end(&a) != 0)
		log_warn("audit: write");
}

static void
refuse_as(struct conn *c, int status, unsigned int klass, const char *fmt, ...)
    CW_PRINTF(4, 5);

static void
refuse(struct conn *c, int status, const char *fmt, ...) CW_PRINTF(3, 4);

static void
refuse_why(struct conn *c, int status, unsigned int klass, const char *why);

static void
refuse(struct conn *c, int status, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	refuse_why(c, status, refusal_class(status), why);
}

/* a refusal whose class the status does not tell: the daemon's own */
static void
refuse_as(struct conn *c, int status, unsigned int klass, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	refuse_why(c, status, klass, why);
}

static void
refuse_why(struct conn *c, int status, unsigned int klass, const char *why)
{
	struct sp_buf b;

	if (status < 500)
		log_warnx("refused %d: %s: %s", status, c->line, why);
	else
		log_warnx("failed %d: %s: %s", status, c->line, why);
	count_refusal(c->conf, klass, status, c->line, why);
	sp_buf_init(&b, 1024);
	sp_buf_str(&b, "{\"message\":");
	sp_buf_jstr(&b, why, strlen(why));
	sp_buf_str(&b, "}");
	if (!b.err)
		reply(c, status, b.p, b.len);
	sp_buf_free(&b);
}

/* a head for a streamed answer; its body goes out in chunks */
static int
stream_head(struct conn *c, const char *ctype)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", ctype);
	return client_write(c, head, (size_t)n);
}

static int
chunk(struct conn *c, const unsigned char *pre, size_t plen,
    const unsigned char *p, size_t n)
{
	unsigned char out[CHUNK_MAX + 64];
	int k;

	if (plen + n > CHUNK_MAX)
		return -1;
	k = snprintf((char *)out, 32, "%zx\r\n", plen + n);
	memcpy(out + k, pre, plen);
	memcpy(out + k + plen, p, n);
	memcpy(out + k + plen + n, "\r\n", 2);
	return client_write(c, out, (size_t)k + plen + n + 2);
}

static int
chunk_end(struct conn *c)
{
	return client_write(c, "0\r\n\r\n", 5);
}

/* ---- upstream calls ---------------------------------------------------- */

/*
 * One short call from a template: returns the HTTP status, or -1 with
 * c->uperr set. The answer lands in ans.
 */
static int
call(struct conn *c, const char *method, const char *path, const char *ctype,
    const char *body, size_t blen, struct sp_buf *ans)
{
	struct sp_buf req;
	int status = -1;

	sp_buf_init(&req, SP_JSON_MAX * 2);
	sp_tmpl_head(&req, method, path, ctype, blen);
	if (body != NULL)
		sp_buf_add(&req, body, blen);
	if (req.err) {
		snprintf(c->uperr, sizeof(c->uperr), "request too large");
		goto out;
	}
	if (sp_up_call(c->conf->upstream, &req, ans, &status, SP_UP_MS,
	    c->uperr, sizeof(c->uperr)) != 0)
		status = -1;
out:
	sp_buf_free(&req);
	return status;
}

/* the daemon did not do it: tell the client, log why */
static void
upstream_failed(struct conn *c, int status, const struct sp_buf *ans,
    const char *what)
{
	char msg[160];

	if (status < 0) {
		refuse(c, 502, "%s: daemon unreachable: %s", what, c->uperr);
		return;
	}
	sp_answer_message(ans->p != NULL ? ans->p : "", ans->len, msg, sizeof(msg));
	log_warnx("%s: daemon answered %d: %s", what, status, msg);
	if (status == 404)
		refuse_as(c, 404, IPC_REFUSE_DAEMON, "%s: no such object", what);
	else if (status == 409 || status == 304)
		refuse_as(c, 409, IPC_REFUSE_DAEMON,
		    "%s: conflict with the object's state", what);
	else
		refuse(c, 502, "%s: daemon answered %d", what, status);
}

static int
up_remove(struct conn *c, const char *id)
{
	struct sp_buf ans;
	char path[160];
	int st;

	sp_buf_init(&ans, SP_UP_JSON_MAX);
	snprintf(path, sizeof(path), SP_API "/containers/%s?force=1&v=1", id);
	st = call(c, "DELETE", path, NULL, NULL, 0, &ans);
	sp_buf_free(&ans);
	if (st == 204 || st == 404) {
		own_del(id);
		return 0;
	}
	log_warnx("remove %s: %s", id, st < 0 ? c->uperr : "daemon refused");
	return -1;
}

/* inspect a container and compare it with what was sent; 0 or -1 (why) */
static int
inspect_verify(struct conn *c, const char *id, const struct sp_create *cr,
    char *why, size_t wlen)
{
	struct sp_buf ans;
	char path[160];
	int st, r = -1;

	sp_buf_init(&ans, SP_UP_JSON_MAX);
	snprintf(path, sizeof(path), SP_API "/containers/%s/json", id);
	st = call(c, "GET", path, NULL, NULL, 0, &ans);
	if (st != 200) {
		snprintf(why, wlen, "inspect failed (%d)", st);
		goto out;
	}
	r = sp_verify_container(c->conf, cr, id, ans.p, ans.len, why, wlen);
out:
	sp_buf_free(&ans);
	return r;
}

/* ---- request bodies ---------------------------------------------------- */

/* the JSON body, exactly Content-Length bytes and nothing after */
static int
read_body(struct conn *c, char *buf)
{
	size_t extra = c->have - c->req.head_len, got;
	uint64_t deadline = sp_now_ms() + SP_BODY_MS;
	char probe;

	if (extra > c->req.clen) {
		refuse(c, 400, "bytes after the body");
		return -1;
	}
	memcpy(buf, c->head + c->req.head_len, extra);
	for (got = extra; got < c->req.clen; ) {
		ssize_t n = client_read(c, buf + got, c->req.clen - got, deadline);

		if (n == -2) {
			refuse(c, 408, "body not sent in time");
			return -1;
		}
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	if (recv(c->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
		refuse(c, 400, "bytes after the body (one request per connection)");
		return -1;
	}
	return 0;
}

static struct sp_json *
parse_body(struct conn *c)
{
	struct sp_json *j;
	char *buf;

	if ((buf = malloc(SP_JSON_MAX)) == NULL ||
	    (j = malloc(sizeof(*j))) == NULL) {
		free(buf);
		refuse(c, 503, "out of memory");
		return NULL;
	}
	if (read_body(c, buf) < 0)
		goto bad;
	if (sp_json_parse(j, buf, c->req.clen) < 0) {
		refuse(c, 400, "JSON refused: %s", j->err);
		goto bad;
	}
	free(buf);
	return j;
bad:
	free(buf);
	free(j);
	return NULL;
}

/* ---- the operations ---------------------------------------------------- */

static void
op_create(struct conn *c)
{
	struct sp_json *j;
	struct sp_create cr;
	struct sp_buf body, ans;
	char why[256], id[SP_ID_LEN + 1];
	int st;

	if ((j = parse_body(c)) == NULL)
		return;
	sp_buf_init(&body, SP_JSON_MAX * 2);
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	if (sp_req_create(j, c->conf->policy, &cr, why, sizeof(why)) < 0) {
		refuse(c, 403, "create: %s", why);
		goto out;
	}
	if ((size_t)own_count() >= live_max(c->conf->policy)) {
		refuse(c, 429, "create: %d sandboxes live, the policy allows %zu",
		    own_count(), live_max(c->conf->policy));
		goto out;
	}
	sp_tmpl_create(&body, c->conf, &cr);
	if (body.err) {
		refuse(c, 413, "create: body too large");
		goto out;
	}
	st = call(c, "POST", SP_API "/containers/create", "application/json",
	    body.p, body.len, &ans);
	if (st != 201) {
		upstream_failed(c, st, &ans, "create");
		goto out;
	}
	if (sp_answer_id(ans.p, ans.len, id) < 0) {
		refuse(c, 502, "create: daemon answer has no id");
		goto out;
	}
	if (inspect_verify(c, id, &cr, why, sizeof(why)) < 0) {
		log_warnx("create %s: the daemon built something else: %s", id, why);
		up_remove(c, id);
		refuse(c, 502, "create: container differs from the request: %s", why);
		goto out;
	}
	if (own_add(id, &cr) < 0) {
		up_remove(c, id);
		refuse(c, 503, "create: too many containers");
		goto out;
	}
	log_info("created %s", id);
	sp_buf_free(&ans);
	sp_buf_init(&ans, 128);
	sp_buf_printf(&ans, "{\"Id\":\"%s\"}", id);
	reply(c, 201, ans.p, ans.len);
out:
	sp_buf_free(&body);
	sp_buf_free(&ans);
	free(j);
}

static int
owned_or_404(struct conn *c, struct owned *o)
{
	if (own_find(c->req.id, o) == 0)
		return 0;
	refuse(c, 404, "not a container this proxy created");
	return -1;
}

static void
op_start(struct conn *c)
{
	struct owned o;
	struct sp_create cr;
	struct sp_buf ans;
	char why[256], path[160];
	int st;

	if (owned_or_404(c, &o) < 0)
		return;
	owned_create(&o, &cr);
	if (inspect_verify(c, o.id, &cr, why, sizeof(why)) < 0) {
		log_warnx("start %s: container changed: %s", o.id, why);
		up_remove(c, o.id);
		refuse(c, 502, "start: container differs from the request: %s", why);
		return;
	}
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	snprintf(path, sizeof(path), SP_API "/containers/%s/start", o.id);
	st = call(c, "POST", path, NULL, NULL, 0, &ans);
	if (st == 204)
		reply(c, 204, NULL, 0);
	else
		upstream_failed(c, st, &ans, "start");
	sp_buf_free(&ans);
}

struct put {
	struct conn	*c;
	struct sp_up	up;
	int		open;		/* upstream connected and head sent */
	int		failed;
	int		check_only;	/* validate, send nothing */
	unsigned char	*hold;		/* the last block, held until the end */
	size_t		holdlen;
};

static int
put_open(struct put *pu)
{
	struct sp_buf head;
	char path[160];
	int r = -1;

	sp_buf_init(&head, 1024);
	snprintf(path, sizeof(path), SP_API "/containers/%s/archive?"
	    "path=%%2Fmnt%%2Fdata&noOverwriteDirNonDir=1", pu->c->req.id);
	sp_tmpl_head(&head, "PUT", path, "application/x-tar", pu->c->req.clen);
	if (sp_up_open(&pu->up, pu->c->conf->upstream, sp_now_ms() + SP_TAR_MS) != 0)
		goto out;
	pu->open = 1;
	if (sp_up_write(&pu->up, head.p, head.len) != 0)
		goto out;
	r = 0;
out:
	sp_buf_free(&head);
	return r;
}

/* validated bytes, on their way upstream */
static int
put_out(void *ctx, const unsigned char *p, size_t n)
{
	struct put *pu = ctx;

	if (pu->check_only)
		return 0;
	if (pu->hold != NULL) {
		/* the final block: kept back until the archive is complete */
		if (pu->holdlen + n > 512) {
			pu->failed = 1;
			return -1;
		}
		memcpy(pu->hold + pu->holdlen, p, n);
		pu->holdlen += n;
		return 0;
	}
	if (!pu->open && put_open(pu) != 0) {
		pu->failed = 1;
		return -1;
	}
	if (sp_up_write(&pu->up, p, n) != 0) {
		pu->failed = 1;
		return -1;
	}
	return 0;
}

static void
op_put_archive(struct conn *c)
{
	const struct policy *p = c->conf->policy;
	struct owned o;
	struct sp_tar *t = NULL;
	struct put pu;
	struct sp_buf ans;
	unsigned char *buf = NULL, last[512];
	uint64_t clen = c->req.clen, got = 0, deadline = sp_now_ms() + SP_TAR_MS;
	size_t extra = c->have - c->req.head_len;
	int spool = clen <= SP_TAR_SPOOL, st;

	memset(&pu, 0, sizeof(pu));
	pu.c = c;
	pu.up.fd = -1;
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	if (owned_or_404(c, &o) < 0)
		goto out;
	if (clen > p->workdir_size + SP_PUT_SLACK) {
		refuse(c, 413, "archive larger than the work directory");
		goto out;
	}
	if (extra > clen) {
		refuse(c, 400, "bytes after the archive");
		goto out;
	}
	if ((t = malloc(sizeof(*t))) == NULL ||
	    (buf = malloc(spool ? (size_t)clen : 65536)) == NULL) {
		refuse(c, 503, "out of memory");
		goto out;
	}
	sp_tar_init(t, SP_TAR_PUT, p->uid, p->workdir_size, SP_PUT_ENTRIES_MAX);

	if (spool) {
		/* small: read it whole, check it whole, then send it */
		memcpy(buf, c->head + c->req.head_len, extra);
		for (got = extra; got < clen; ) {
			ssize_t n = client_read(c, buf + got, (size_t)(clen - got),
			    deadline);

			if (n <= 0) {
				refuse(c, 408, "archive not sent in time");
				goto out;
			}
			got += (uint64_t)n;
		}
		pu.check_only = 1;
		if (sp_tar_feed(t, buf, (size_t)clen, put_out, &pu) != 0 ||
		    sp_tar_finish(t) != 0) {
			refuse(c, 400, "archive refused: %s", t->why);
			goto out;
		}
		pu.check_only = 0;
		if (put_out(&pu, buf, (size_t)clen) != 0) {
			refuse(c, 502, "archive: upstream: %s", pu.up.err);
			goto out;
		}
	} else {
		/*
		 * large: each header checked before it goes on; the last block
		 * held back until the end is proven, so a refused archive
		 * reaches the daemon cut short and is not accepted whole.
		 */
		uint64_t fed = 0;
		size_t n = extra;

		memcpy(buf, c->head + c->req.head_len, extra);
		for (;;) {
			size_t k = 0;
			ssize_t r;

			while (k < n) {
				size_t m = n - k;

				if (fed < clen - 512) {
					if (m > clen - 512 - fed)
						m = (size_t)(clen - 512 - fed);
				} else {
					pu.hold = last;
				}
				if (sp_tar_feed(t, buf + k, m, put_out, &pu) != 0) {
					if (pu.failed && pu.up.err[0] != '\0')
						refuse(c, 502, "archive: upstream: %s",
						    pu.up.err);
					else
						refuse(c, 400, "archive refused: %s", t->why);
					goto out;
				}
				k += m;
				fed += m;
			}
			if (fed == clen)
				break;
			r = client_read(c, buf, (size_t)(clen - fed < 65536 ?
			    clen - fed : 65536), deadline);
			if (r <= 0) {
				refuse(c, 408, "archive not sent in time");
				goto out;
			}
			n = (size_t)r;
		}
		if (sp_tar_finish(t) != 0) {
			refuse(c, 400, "archive refused: %s", t->why);
			goto out;
		}
		pu.hold = NULL;
		if (put_out(&pu, last, pu.holdlen) != 0) {
			refuse(c, 502, "archive: upstream: %s", pu.up.err);
			goto out;
		}
	}
	{
		char probe;

		if (recv(c->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
			refuse(c, 400, "bytes after the archive");
			goto out;
		}
	}
	if ((st = sp_up_head(&pu.up)) != 0 || sp_up_body(&pu.up, &ans) != 0) {
		refuse(c, 502, "archive: upstream: %s", pu.up.err);
		goto out;
	}
	st = pu.up.status;
	if (st == 200)
		reply(c, 200, "", 0);
	else
		upstream_failed(c, st, &ans, "archive upload");
out:
	if (pu.open)
		sp_up_close(&pu.up);
	sp_buf_free(&ans);
	free(buf);
	free(t);
}

struct relay {
	struct conn	*c;
	int		failed;
};

static int
tar_to_client(void *ctx, const unsigned char *p, size_t n)
{
	struct relay *r = ctx;

	while (n > 0) {
		size_t k = n < CHUNK_MAX ? n : CHUNK_MAX;

		if (chunk(r->c, NULL, 0, p, k) != 0) {
			r->failed = 1;
			return -1;
		}
		p += k;
		n -= k;
	}
	return 0;
}

static int
frame_to_client(void *ctx, int type, const unsigned char *p, size_t n)
{
	struct relay *r = ctx;

	while (n > 0) {
		size_t k = n < CHUNK_MAX - 8 ? n : CHUNK_MAX - 8;
		unsigned char hdr[8] = { (unsigned char)type, 0, 0, 0,
		    (unsigned char)(k >> 24), (unsigned char)(k >> 16),
		    (unsigned char)(k >> 8), (unsigned char)k };

		if (chunk(r->c, hdr, 8, p, k) != 0) {
			r->failed = 1;
			return -1;
		}
		p += k;
		n -= k;
	}
	return 0;
}

/*
 * Open a streaming call: send the request, read the head. 0 when the daemon
 * answered 200 with content type ctype (up is then open), else the client
 * has been answered and up is closed.
 */
static int
stream_open(struct conn *c, struct sp_up *up, const char *method,
    const char *path, const char *body, const char *ctype, uint64_t ms,
    const char *what)
{
	struct sp_buf req, ans;
	int r = -1;

	sp_buf_init(&req, 4096);
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	sp_tmpl_head(&req, method, path, body != NULL ? "application/json" : NULL,
	    body != NULL ? strlen(body) : 0);
	if (body != NULL)
		sp_buf_str(&req, body);
	if (sp_up_open(up, c->conf->upstream, sp_now_ms() + ms) != 0) {
		refuse(c, 502, "%s: daemon unreachable: %s", what, up->err);
		goto out;
	}
	up->watch = c->fd;
	if (sp_up_write(up, req.p, req.len) != 0 || sp_up_head(up) != 0) {
		if (up->err[0] != '\0')
			refuse(c, 502, "%s: upstream: %s", what, up->err);
		goto close;
	}
	if (up->status != 200) {
		if (sp_up_body(up, &ans) == 0)
			upstream_failed(c, up->status, &ans, what);
		else
			refuse(c, 502, "%s: daemon answered %d", what, up->status);
		goto close;
	}
	if (strcmp(up->ctype, ctype) != 0) {
		refuse(c, 502, "%s: daemon answered with content type '%s'", what,
		    up->ctype);
		goto close;
	}
	r = 0;
	goto out;
close:
	sp_up_close(up);
out:
	sp_buf_free(&req);
	sp_buf_free(&ans);
	return r;
}

static void
op_exec_start(struct conn *c)
{
	const struct policy *p = c->conf->policy;
	struct sp_up *up = NULL;
	struct sp_buf ans;
	struct sp_mux mux;
	struct relay rl = { c, 0 };
	unsigned char *buf = NULL;
	char cid[SP_ID_LEN + 1], path[160], why[256];
	int running = 0, code = -1, st, fr;
	uint64_t cap = 2 * (p->stdout_max + p->stderr_max) + SP_STREAM_SLACK;
	ssize_t n;

	sp_buf_init(&ans, SP_UP_JSON_MAX);
	if ((fr = exec_find(c->req.id, cid, 1)) == -1) {
		refuse(c, 404, "not an exec this proxy created");
		goto out;
	}
	if (fr == -2) {
		refuse(c, 409, "exec already started");
		goto out;
	}
	/* rule 7: the exec is still what was asked, and has never run */
	snprintf(path, sizeof(path), SP_API "/exec/%s/json", c->req.id);
	st = call(c, "GET", path, NULL, NULL, 0, &ans);
	if (st != 200) {
		upstream_failed(c, st, &ans, "exec start");
		goto out;
	}
	if (sp_verify_exec(c->conf, cid, NULL, ans.p, ans.len, &running, &code,
	    why, sizeof(why)) < 0 || running || code != -1) {
		refuse(c, 502, "exec start: exec differs from the request: %s",
		    why[0] ? why : "already ran");
		goto out;
	}
	if ((up = malloc(sizeof(*up))) == NULL ||
	    (buf = malloc(CHUNK_MAX)) == NULL) {
		refuse(c, 503, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), SP_API "/exec/%s/start", c->req.id);
	if (stream_open(c, up, "POST", path, sp_tmpl_exec_start,
	    "application/vnd.docker.raw-stream",
	    (uint64_t)p->time_max_ms + SP_STREAM_MS_EXTRA, "exec start") != 0) {
		free(up);
		up = NULL;
		goto out;
	}
	if (stream_head(c, "application/vnd.docker.raw-stream") != 0)
		goto out;
	sp_mux_init(&mux, cap, cap);
	while ((n = sp_up_read(up, buf, CHUNK_MAX)) > 0) {
		enum sp_mux_result mr = sp_mux_feed(&mux, buf, (size_t)n,
		    frame_to_client, &rl);

		if (mr != SP_MUX_OK) {
			log_warnx("exec %s: stream ended: %s", c->req.id,
			    rl.failed ? "client stopped reading" : mux.why);
			goto out;	/* no final chunk: the client sees an error */
		}
	}
	if (n == SP_UP_GONE) {
		log_info("exec %s: client went away; stream closed", c->req.id);
		goto out;
	}
	if (n < 0) {
		log_warnx("exec %s: stream: %s", c->req.id, up->err);
		goto out;
	}
	if (sp_mux_finish(&mux) != 0) {
		log_warnx("exec %s: %s", c->req.id, mux.why);
		goto out;
	}
	chunk_end(c);
out:
	if (up != NULL)
		sp_up_close(up);
	free(up);
	free(buf);
	sp_buf_free(&ans);
}

static void
op_exec_create(struct conn *c)
{
	struct owned o;
	struct sp_json *j = NULL;
	struct sp_exec e;
	struct sp_buf body, ans;
	char why[256], id[SP_ID_LEN + 1], path[160];
	int st, running = 0, code = -1;

	sp_buf_init(&body, SP_JSON_MAX * 2);
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	if (owned_or_404(c, &o) < 0 || (j = parse_body(c)) == NULL)
		goto out;
	if (sp_req_exec(j, c->conf->policy, o.image, &e, why, sizeof(why)) < 0) {
		refuse(c, 403, "exec: %s", why);
		goto out;
	}
	sp_tmpl_exec(&body, c->conf, &e);
	snprintf(path, sizeof(path), SP_API "/containers/%s/exec", o.id);
	st = call(c, "POST", path, "application/json", body.p, body.len, &ans);
	if (st != 201) {
		upstream_failed(c, st, &ans, "exec");
		goto out;
	}
	if (sp_answer_id(ans.p, ans.len, id) < 0) {
		refuse(c, 502, "exec: daemon answer has no id");
		goto out;
	}
	sp_buf_free(&ans);
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	snprintf(path, sizeof(path), SP_API "/exec/%s/json", id);
	st = call(c, "GET", path, NULL, NULL, 0, &ans);
	if (st != 200 || sp_verify_exec(c->conf, o.id, &e, ans.p, ans.len,
	    &running, &code, why, sizeof(why)) < 0 || running) {
		if (st != 200)
			snprintf(why, sizeof(why), "inspect failed (%d)", st);
		log_warnx("exec %s: the daemon built something else: %s", id, why);
		up_remove(c, o.id);
		refuse(c, 502, "exec differs from the request: %s", why);
		goto out;
	}
	if (exec_add(id, o.id) < 0) {
		refuse(c, 503, "exec: too many execs");
		goto out;
	}
	sp_buf_free(&ans);
	sp_buf_init(&ans, 128);
	sp_buf_printf(&ans, "{\"Id\":\"%s\"}", id);
	reply(c, 201, ans.p, ans.len);
out:
	sp_buf_free(&body);
	sp_buf_free(&ans);
	free(j);
}

static void
op_exec_inspect(struct conn *c)
{
	struct sp_buf ans;
	char cid[SP_ID_LEN + 1], path[160], why[256], out[64];
	int st, running = 0, code = -1;

	sp_buf_init(&ans, SP_UP_JSON_MAX);
	if (exec_find(c->req.id, cid, 0) != 0) {
		refuse(c, 404, "not an exec this proxy created");
		goto out;
	}
	snprintf(path, sizeof(path), SP_API "/exec/%s/json", c->req.id);
	st = call(c, "GET", path, NULL, NULL, 0, &ans);
	if (st != 200) {
		upstream_failed(c, st, &ans, "exec inspect");
		goto out;
	}
	if (sp_verify_exec(c->conf, cid, NULL, ans.p, ans.len, &running, &code,
	    why, sizeof(why)) < 0) {
		refuse(c, 502, "exec inspect: %s", why);
		goto out;
	}
	if (code < 0)
		st = snprintf(out, sizeof(out), "{\"Running\":%s,\"ExitCode\":null}",
		    running ? "true" : "false");
	else
		st = snprintf(out, sizeof(out), "{\"Running\":%s,\"ExitCode\":%d}",
		    running ? "true" : "false", code);
	reply(c, 200, out, (size_t)st);
out:
	sp_buf_free(&ans);
}

static void
op_get_archive(struct conn *c)
{
	const struct policy *p = c->conf->policy;
	struct owned o;
	struct sp_up *up = NULL;
	struct sp_tar *t = NULL;
	struct relay rl = { c, 0 };
	unsigned char *buf = NULL;
	char path[160];
	ssize_t n;

	if (owned_or_404(c, &o) < 0)
		return;
	if ((up = malloc(sizeof(*up))) == NULL || (t = malloc(sizeof(*t))) == NULL ||
	    (buf = malloc(CHUNK_MAX)) == NULL) {
		refuse(c, 503, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), SP_API "/containers/%s/archive?"
	    "path=%%2Fmnt%%2Fdata", o.id);
	if (stream_open(c, up, "GET", path, NULL, "application/x-tar", SP_TAR_MS,
	    "archive") != 0) {
		free(up);
		up = NULL;
		goto out;
	}
	sp_tar_init(t, SP_TAR_GET, p->uid, p->workdir_size,
	    2 * p->workdir_files + 2);
	if (stream_head(c, "application/x-tar") != 0)
		goto out;
	while ((n = sp_up_read(up, buf, CHUNK_MAX)) > 0) {
		if (sp_tar_feed(t, buf, (size_t)n, tar_to_client, &rl) != 0) {
			log_warnx("archive %s: %s", o.id,
			    rl.failed ? "client stopped reading" : t->why);
			goto out;	/* no final chunk */
		}
	}
	if (n < 0) {
		log_warnx("archive %s: %s", o.id, up->err);
		goto out;
	}
	if (sp_tar_finish(t) != 0) {
		log_warnx("archive %s: %s", o.id, t->why);
		goto out;
	}
	if (t->skipped > 0)
		log_info("archive %s: left out %llu links or FIFOs", o.id,
		    (unsigned long long)t->skipped);
	chunk_end(c);
out:
	if (up != NULL)
		sp_up_close(up);
	free(up);
	free(t);
	free(buf);
}

/*
 * HEAD of the work directory: the daemon's stat of /mnt/data (one Lstat, no
 * tar helper), rebuilt as sockproxy's own line "size=N mode=N mtime=T" in
 * X-Codeward-Stat. privd compares two of them to know whether a run that
 * uploaded nothing left anything to fetch.
 */
static void
op_stat_archive(struct conn *c)
{
	struct owned o;
	struct sp_up *up = NULL;
	struct sp_buf req;
	unsigned char raw[512];
	char path[160], head[256];
	size_t rawlen = 0, i;
	cJSON *j = NULL, *sz, *md, *mt;
	int n;

	sp_buf_init(&req, 1024);
	if (owned_or_404(c, &o) < 0)
		goto out;
	if ((up = malloc(sizeof(*up))) == NULL) {
		refuse(c, 503, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), SP_API "/containers/%s/archive?"
	    "path=%%2Fmnt%%2Fdata", o.id);
	sp_tmpl_head(&req, "HEAD", path, NULL, 0);
	if (sp_up_open(up, c->conf->upstream, sp_now_ms() + SP_UP_MS) != 0) {
		refuse(c, 502, "stat: daemon unreachable: %s", up->err);
		free(up);
		up = NULL;
		goto out;
	}
	up->head_only = 1;
	if (sp_up_write(up, req.p, req.len) != 0 || sp_up_head(up) != 0) {
		refuse(c, 502, "stat: upstream: %s", up->err);
		goto out;
	}
	if (up->status != 200 || up->pathstat[0] == '\0' ||
	    sodium_base642bin(raw, sizeof(raw) - 1, up->pathstat,
	    strlen(up->pathstat), NULL, &rawlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		refuse(c, 502, "stat: daemon answered %d without a stat", up->status);
		goto out;
	}
	if ((j = cJSON_ParseWithLength((const char *)raw, rawlen)) == NULL ||
	    !cJSON_IsNumber(sz = cJSON_GetObjectItemCaseSensitive(j, "size")) ||
	    !cJSON_IsNumber(md = cJSON_GetObjectItemCaseSensitive(j, "mode")) ||
	    !cJSON_IsString(mt = cJSON_GetObjectItemCaseSensitive(j, "mtime")) ||
	    sz->valuedouble < 0 || md->valuedouble < 0 ||
	    strlen(mt->valuestring) > 40) {
		refuse(c, 502, "stat: malformed");
		goto out;
	}
	for (i = 0; mt->valuestring[i] != '\0'; i++) {
		char ch = mt->valuestring[i];

		if (!((ch >= '0' && ch <= '9') || ch == '-' || ch == ':' ||
		    ch == '.' || ch == 'T' || ch == 'Z' || ch == '+')) {
			refuse(c, 502, "stat: malformed time");
			goto out;
		}
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nX-Codeward-Stat: "
	    "size=%.0f mode=%.0f mtime=%s\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", sz->valuedouble, md->valuedouble,
	    mt->valuestring);
	if (n > 0 && (size_t)n < sizeof(head))
		client_write(c, head, (size_t)n);
out:
	cJSON_Delete(j);
	if (up != NULL) {
		sp_up_close(up);
		free(up);
	}
	sp_buf_free(&req);
}

static void
op_kill(struct conn *c)
{
	struct owned o;
	struct sp_buf ans;
	char path[160];
	int st;

	if (owned_or_404(c, &o) < 0)
		return;
	sp_buf_init(&ans, SP_UP_JSON_MAX);
	snprintf(path, sizeof(path), SP_API "/containers/%s/kill?signal=KILL", o.id);
	st = call(c, "POST", path, NULL, NULL, 0, &ans);
	if (st == 204)
		reply(c, 204, NULL, 0);
	else
		upstream_failed(c, st, &ans, "kill");
	sp_buf_free(&ans);
}

static void
op_remove(struct conn *c)
{
	struct owned o;

	if (owned_or_404(c, &o) < 0)
		return;
	if (up_remove(c, o.id) == 0) {
		log_info("removed %s", o.id);
		reply(c, 204, NULL, 0);
	} else {
		refuse(c, 502, "remove: %s", c->uperr[0] ? c->uperr : "daemon refused");
	}
}

static void
op_wait(struct conn *c)
{
	struct owned o;
	struct sp_up *up = NULL;
	struct sp_buf ans;
	char path[160], out[64];
	long code;
	int n;

	sp_buf_init(&ans, 65536);
	if (owned_or_404(c, &o) < 0)
		goto out;
	if ((up = malloc(sizeof(*up))) == NULL) {
		refuse(c, 503, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), SP_API "/containers/%s/wait?"
	    "condition=not-running", o.id);
	if (stream_open(c, up, "POST", path, NULL, "application/json", SP_WAIT_MS,
	    "wait") != 0) {
		free(up);
		up = NULL;
		goto out;
	}
	if ((n = sp_up_body(up, &ans)) != 0) {
		if (n == SP_UP_GONE)
			log_info("wait %s: client went away", o.id);
		else
			refuse(c, 502, "wait: upstream: %s", up->err);
		goto out;
	}
	if (sp_answer_wait(ans.p, ans.len, &code) < 0) {
		refuse(c, 502, "wait: daemon answer malformed");
		goto out;
	}
	n = snprintf(out, sizeof(out), "{\"StatusCode\":%ld}", code);
	reply(c, 200, out, (size_t)n);
out:
	if (up != NULL)
		sp_up_close(up);
	free(up);
	sp_buf_free(&ans);
}

static void
list_add(void *ctx, const char *id)
{
	struct sp_buf *b = ctx;

	if (own_find(id, NULL) != 0)
		return;	/* labelled, but not in this process's table */
	sp_buf_str(b, b->len > 1 ? ",{\"Id\":\"" : "{\"Id\":\"");
	sp_buf_str(b, id);
	sp_buf_str(b, "\"}");
}

static void
op_list(struct conn *c)
{
	struct sp_buf ans, path, out;
	int st;

	sp_buf_init(&ans, SP_UP_JSON_MAX * 4);
	sp_buf_init(&path, 512);
	sp_buf_init(&out, SP_CONTAINERS_MAX * 80 + 16);
	sp_buf_str(&path, SP_API "/containers/json?all=1&filters=");
	sp_tmpl_label_filter(&path, "codeward.owner", c->conf->owner);
	st = call(c, "GET", path.p, NULL, NULL, 0, &ans);
	if (st != 200) {
		upstream_failed(c, st, &ans, "list");
		goto out;
	}
	sp_buf_str(&out, "[");
	if (sp_answer_list(c->conf, ans.p, ans.len, 1, list_add, &out) < 0) {
		refuse(c, 502, "list: daemon answer malformed");
		goto out;
	}
	sp_buf_str(&out, "]");
	if (out.err) {
		refuse(c, 502, "list: too long");
		goto out;
	}
	reply(c, 200, out.p, out.len);
out:
	sp_buf_free(&ans);
	sp_buf_free(&path);
	sp_buf_free(&out);
}

/* sockproxy's own counters; nothing goes upstream */
static void
op_stats(struct conn *c)
{
	struct sp_buf out;
	unsigned int i;

	sp_buf_init(&out, 1024);
	sp_buf_str(&out, "{\"refused\":{");
	for (i = 0; i < IPC_REFUSALS; i++)
		sp_buf_printf(&out, "%s\"%s\":%llu", i ? "," : "",
		    ipc_refusal_name(i), (unsigned long long)
		    __atomic_load_n(&refusals[i], __ATOMIC_RELAXED));
	sp_buf_printf(&out, "},\"containers\":%d}", own_count());
	if (out.err)
		refuse(c, 503, "out of memory");
	else
		reply(c, 200, out.p, out.len);
	sp_buf_free(&out);
}

/* the dispatch table: one handler per route operation */
static const struct {
	enum sp_op	op;
	void		(*fn)(struct conn *);
} handlers[SP_OP_COUNT] = {
	{ SP_OP_CREATE, op_create },
	{ SP_OP_START, op_start },
	{ SP_OP_PUT_ARCHIVE, op_put_archive },
	{ SP_OP_GET_ARCHIVE, op_get_archive },
	{ SP_OP_EXEC_CREATE, op_exec_create },
	{ SP_OP_EXEC_START, op_exec_start },
	{ SP_OP_EXEC_INSPECT, op_exec_inspect },
	{ SP_OP_KILL, op_kill },
	{ SP_OP_REMOVE, op_remove },
	{ SP_OP_WAIT, op_wait },
	{ SP_OP_LIST, op_list },
	{ SP_OP_STAT_ARCHIVE, op_stat_archive },
	{ SP_OP_STATS, op_stats },
};

static void
set_line(struct conn *c)
{
	size_t n;

	for (n = 0; n < c->have && n < 160 && c->head[n] != '\r' &&
	    c->head[n] != '\n'; n++)
		;
	log_str(c->line, sizeof(c->line), c->head, n);
}

void
sp_serve(int fd, const struct sp_conf *conf)
{
	struct conn *c;
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
		ssize_t n = client_read(c, c->head + c->have,
		    sizeof(c->head) - c->have, deadline);

		if (n == -2) {
			set_line(c);
			refuse(c, 408, "request head not sent in time");
			goto out;
		}
		if (n <= 0)
			goto out;
		c->have += (size_t)n;
		if ((he = sp_http_head_end(c->head, c->have, &end)) != 0)
			break;
	}
	set_line(c);
	if (he == 0) {
		refuse(c, 431, "request head larger than %d bytes", SP_HEAD_MAX);
		goto out;
	}
	if (he < 0) {
		refuse(c, 400, "bare CR or LF in the head");
		goto out;
	}
	if ((st = sp_http_parse(c->head, end, &c->req, &why)) != 0) {
		refuse(c, st, "%s", why);
		goto out;
	}
	c->req.head_len = end;
	if (c->req.route->body == SP_BODY_NONE && c->have > end) {
		refuse(c, 400, "bytes after the request (one request per connection)");
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
	count_refusal(NULL, IPC_REFUSE_BUSY, 503, "", "too many connections");
}

/* ---- start-up ---------------------------------------------------------- */

struct sweep {
	char	ids[SP_CONTAINERS_MAX][SP_ID_LEN + 1];
	size_t	n;
};

static void
sweep_add(void *ctx, const char *id)
{
	struct sweep *s = ctx;

	if (s->n < SP_CONTAINERS_MAX)
		memcpy(s->ids[s->n++], id, SP_ID_LEN + 1);
}

int
sp_startup(const struct sp_conf *conf)
{
	const struct policy *p = conf->policy;
	struct conn c;
	struct sp_buf ans, path;
	struct sweep *sw = NULL;
	size_t i;
	int st, r = -1;

	audit_conf = conf;
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.conf = conf;
	snprintf(c.line, sizeof(c.line), "start-up");
	sp_buf_init(&ans, SP_UP_JSON_MAX * 4);
	sp_buf_init(&path, 512);

	/* every allowlisted image exists and is exactly the id named */
	for (i = 0; i < p->nimages; i++) {
		char ipath[160];

		snprintf(ipath, sizeof(ipath), SP_API "/images/%s/json",
		    p->images[i].ref);
		ans.len = 0;
		st = call(&c, "GET", ipath, NULL, NULL, 0, &ans);
		if (st != 200 || sp_answer_image(ans.p, ans.len, p->images[i].ref) != 0) {
			log_warnx("sp_startup: image %s (%s): %s", p->images[i].name,
			    p->images[i].ref, st < 0 ? c.uperr : "not on the engine");
			goto out;
		}
	}

	/* a named network must exist now (the policy's words: "must already exist") */
	if (p->network[0] != '\0') {
		char npath[160];

		snprintf(npath, sizeof(npath), SP_API "/networks/%s", p->network);
		ans.len = 0;
		st = call(&c, "GET", npath, NULL, NULL, 0, &ans);
		if (st != 200) {
			log_warnx("sp_startup: network %s: %s", p->network,
			    st < 0 ? c.uperr : "not on the engine");
			goto out;
		}
	}

	/* leftovers of this instance, from an earlier process */
	if ((sw = calloc(1, sizeof(*sw))) == NULL)
		goto out;
	sp_buf_str(&path, SP_API "/containers/json?all=1&filters=");
	sp_tmpl_label_filter(&path, "codeward.instance", conf->instance);
	ans.len = 0;
	st = call(&c, "GET", path.p, NULL, NULL, 0, &ans);
	if (st != 200 || sp_answer_list(conf, ans.p, ans.len, 0, sweep_add, sw) < 0) {
		log_warnx("sp_startup: list leftovers: %s",
		    st < 0 ? c.uperr : "daemon refused");
		goto out;
	}
	for (i = 0; i < sw->n; i++) {
		if (up_remove(&c, sw->ids[i]) != 0)
			goto out;
		log_info("removed leftover %s", sw->ids[i]);
	}
	r = 0;
out:
	free(sw);
	sp_buf_free(&ans);
	sp_buf_free(&path);
	return r;
}
