#include "docker.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dkhttp.h"
#include "log.h"
#include "util.h"

#define DK_BASE		"http://docker/v1.41"
#define DK_JSON_MAX	(64 * 1024)	/* a canonical sockproxy answer */
#define DK_SHORT_MS	30000L		/* every call but exec start and wait */

struct membuf {
	char	*buf;
	size_t	len, cap;
	int	overflow;
};

struct sink {
	int		fd;
	uint64_t	len, cap;
	int		capped;
	int		failed;
};

struct source {
	dk_fill_fn	fill;
	void		*ctx;
};

int
dk_id_ok(const char *id)
{
	size_t i;

	for (i = 0; i < DK_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[DK_ID_LEN] == '\0';
}

int
dk_open(struct dk *d, const char *sock)
{
	memset(d, 0, sizeof(*d));
	d->sock = sock;
	return 0;
}

void
dk_close(struct dk *d)
{
	(void)d;
}

static int
mem_write(void *ud, const char *ptr, size_t n)
{
	struct membuf *m = ud;

	if (m->len + n > DK_JSON_MAX) {
		m->overflow = 1;
		return -1;
	}
	if (m->len + n + 1 > m->cap) {
		size_t ncap = (m->len + n + 1) * 2;
		char *nb = realloc(m->buf, ncap);

		if (nb == NULL)
			return -1;
		m->buf = nb;
		m->cap = ncap;
	}
	memcpy(m->buf + m->len, ptr, n);
	m->len += n;
	m->buf[m->len] = '\0';
	return 0;
}

static int
fd_write(void *ud, const char *ptr, size_t n)
{
	struct sink *s = ud;

	if (s->len + n > s->cap) {
		size_t room = (size_t)(s->cap - s->len);

		if (room > 0 && cw_write_all(s->fd, ptr, room) == 0)
			s->len += room;
		s->capped = 1;
		return -1;	/* ends the transfer */
	}
	if (cw_write_all(s->fd, ptr, n) != 0) {
		s->failed = 1;
		return -1;
	}
	s->len += n;
	return 0;
}

static ssize_t
src_read(void *ud, char *buf, size_t n)
{
	struct source *s = ud;
	size_t k = s->fill(buf, n, s->ctx);

	return k == DK_FILL_ABORT ? -1 : (ssize_t)k;
}

static const char *
dkh_strerror(int r)
{
	switch (r) {
	case DKH_ERR_CONNECT: return "cannot connect to sockproxy";
	case DKH_ERR_IO: return "I/O error";
	case DKH_ERR_TIMEOUT: return "timed out";
	case DKH_ERR_PROTOCOL: return "malformed answer";
	case DKH_ERR_SINK: return "answer too large";
	case DKH_ERR_SOURCE: return "request body failed";
	case DKH_ERR_CANCELLED: return "cancelled";
	default: return "error";
	}
}

/* sockproxy's 502 said it could not reach the engine (its call.c, upstream.c) */
static int
engine_down(const char *msg)
{
	return strstr(msg, "daemon unreachable") != NULL ||
	    strstr(msg, ": connect: ") != NULL || strstr(msg, "upstream") != NULL;
}

/*
 * One request. body/ctype for a JSON body; src/size for a streamed body;
 * out for a JSON answer, sink for a raw one; a cancel flag (NULL: none) that
 * becomes non-zero ends it early; stat (NULL: none) receives sockproxy's
 * X-Codeward-Stat line. Returns 0, -2 on the deadline, -3 when cancelled, -1
 * otherwise.
 */
static int
dk_call_cancel(struct dk *d, const char *method, const char *path,
    const char *body, const char *ctype, struct source *src, uint64_t size,
    struct membuf *out, struct sink *sink, long timeout_ms, atomic_int *cancel,
    char *stat)
{
	struct dkh_req req;
	char url[256];
	int r, status;

	snprintf(url, sizeof(url), "/v1.41%s", path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	req.ctype = ctype;
	req.stat_out = stat;
	if (body != NULL) {
		req.body = body;
		req.body_len = strlen(body);
	} else if (src != NULL) {
		req.source = src_read;
		req.source_ctx = src;
		req.source_len = size;
	}
	r = dkh_call_cancel(d->sock, &req, cw_now_ms() + (uint64_t)timeout_ms,
	    cancel, &status, sink != NULL ? fd_write : mem_write,
	    sink != NULL ? (void *)sink : (void *)out);
	d->status = status;
	if (r != DKH_OK) {
		snprintf(d->err, sizeof(d->err), "%s %s: %s", method, path,
		    dkh_strerror(r));
		return r == DKH_ERR_TIMEOUT ? -2 : r == DKH_ERR_CANCELLED ? -3 : -1;
	}
	if (d->status < 200 || d->status > 299) {
		char esc[160];

		/* sockproxy's words when the engine is down: privd must resync */
		if (d->status == 502 && out != NULL && out->buf != NULL &&
		    engine_down(out->buf))
			dkh_peer_doubt();
		snprintf(d->err, sizeof(d->err), "%s %s: HTTP %ld %s", method,
		    path, d->status, out != NULL && out->buf != NULL ?
		    log_str(esc, sizeof(esc), out->buf, out->len) : "");
		return -1;
	}
	return 0;
}

static int
dk_call_stat(struct dk *d, const char *method, const char *path,
    const char *body, const char *ctype, struct source *src, uint64_t size,
    struct membuf *out, struct sink *sink, long timeout_ms, char *stat);

static int
dk_call(struct dk *d, const char *method, const char *path,
    const char *body, const char *ctype, struct source *src, uint64_t size,
    struct membuf *out, struct sink *sink, long timeout_ms)
{
	return dk_call_stat(d, method, path, body, ctype, src, size, out, sink,
	    timeout_ms, NULL);
}

static int
dk_call_stat(struct dk *d, const char *method, const char *path,
    const char *body, const char *ctype, struct source *src, uint64_t size,
    struct membuf *out, struct sink *sink, long timeout_ms, char *stat)
{
	return dk_call_cancel(d, method, path, body, ctype, src, size, out, sink,
	    timeout_ms, NULL, stat);
}

static cJSON *
parse_answer(struct dk *d, struct membuf *m)
{
	cJSON *j;

	if (m->buf == NULL) {
		snprintf(d->err, sizeof(d->err), "empty answer");
		return NULL;
	}
	if ((j = cJSON_ParseWithLength(m->buf, m->len)) == NULL)
		snprintf(d->err, sizeof(d->err), "answer is not JSON");
	return j;
}

static int
answer_id(struct dk *d, struct membuf *m, char *id)
{
	cJSON *j, *v;
	int r = -1;

	if ((j = parse_answer(d, m)) == NULL)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(j, "Id");
	if (!cJSON_IsString(v) || !dk_id_ok(v->valuestring)) {
		snprintf(d->err, sizeof(d->err), "answer has no valid Id");
		goto out;
	}
	memcpy(id, v->valuestring, DK_ID_LEN + 1);
	r = 0;
out:
	cJSON_Delete(j);
	return r;
}

/*
 * The policy's GPU setting as the one device request sockproxy accepts:
 * [{"Driver":"nvidia","Count":N,"Capabilities":[["gpu"]]}], Count -1 for
 * all, or DeviceIDs instead of Count for named devices.
 */
static int
device_request(cJSON *hc, const struct policy *p)
{
	cJSON *reqs, *r, *caps, *inner, *ids;
	size_t i;

	if ((reqs = cJSON_AddArrayToObject(hc, "DeviceRequests")) == NULL ||
	    (r = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddItemToArray(reqs, r);
	cJSON_AddStringToObject(r, "Driver", "nvidia");
	switch (p->gpu) {
	case GPU_ALL:
		cJSON_AddNumberToObject(r, "Count", -1);
		break;
	case GPU_COUNT:
		cJSON_AddNumberToObject(r, "Count", p->gpu_count);
		break;
	case GPU_IDS:
		if ((ids = cJSON_AddArrayToObject(r, "DeviceIDs")) == NULL)
			return -1;
		for (i = 0; i < p->ngpu_ids; i++)
			cJSON_AddItemToArray(ids, cJSON_CreateString(p->gpu_ids[i]));
		break;
	case GPU_NONE:
		return -1;
	}
	if ((caps = cJSON_AddArrayToObject(r, "Capabilities")) == NULL ||
	    (inner = cJSON_CreateArray()) == NULL)
		return -1;
	cJSON_AddItemToArray(caps, inner);
	cJSON_AddItemToArray(inner, cJSON_CreateString("gpu"));
	return 0;
}

static char *
create_body(const struct policy *p, const char *image, int prewarm_py)
{
	cJSON *root, *hc, *cmd;
	char *s = NULL;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(root, "Image", image);
	/* the image's idle process: waits, and starts pre-warmed interpreters */
	cmd = cJSON_AddArrayToObject(root, "Cmd");
	cJSON_AddItemToArray(cmd, cJSON_CreateString(DK_IDLE_CMD));
	if (prewarm_py) {
		cJSON *env = cJSON_AddArrayToObject(root, "Env");

		cJSON_AddItemToArray(env, cJSON_CreateString("CW_PREWARM=py"));
	}
	hc = cJSON_AddObjectToObject(root, "HostConfig");
	cJSON_AddNumberToObject(hc, "Memory", (double)p->memory);
	cJSON_AddNumberToObject(hc, "MemorySwap", (double)p->swap);
	cJSON_AddNumberToObject(hc, "NanoCpus", (double)p->nano_cpus);
	cJSON_AddNumberToObject(hc, "PidsLimit", (double)p->pids);
	if (p->runtime == RUNTIME_RUNSC)
		cJSON_AddStringToObject(hc, "Runtime", "runsc");
	if (p->network[0] != '\0')
		cJSON_AddStringToObject(hc, "NetworkMode", p->network);
	if (p->gpu != GPU_NONE && device_request(hc, p) < 0) {
		cJSON_Delete(root);
		return NULL;
	}
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

int
dk_create(struct dk *d, const struct policy *p, const char *image,
    int prewarm_py, char *id)
{
	struct membuf m = { 0 };
	char *body;
	int r;

	if ((body = create_body(p, image, prewarm_py)) == NULL) {
		snprintf(d->err, sizeof(d->err), "out of memory");
		return -1;
	}
	r = dk_call(d, "POST", "/containers/create", body, "application/json",
	    NULL, 0, &m, NULL, DK_SHORT_MS);
	if (r == 0)
		r = answer_id(d, &m, id);
	free(body);
	free(m.buf);
	return r;
}

static int
simple(struct dk *d, const char *method, const char *id, const char *tail)
{
	struct membuf m = { 0 };
	char path[160];
	int r;

	snprintf(path, sizeof(path), "/containers/%s%s", id, tail);
	r = dk_call(d, method, path, NULL, NULL, NULL, 0, &m, NULL, DK_SHORT_MS);
	free(m.buf);
	return r;
}

int
dk_start(struct dk *d, const char *id)
{
	return simple(d, "POST", id, "/start");
}

int
dk_stat_workdir(struct dk *d, const char *id, char *stat, size_t len)
{
	struct membuf m = { 0 };
	char path[160], got[DKH_STAT_MAX];
	int r;

	got[0] = '\0';
	snprintf(path, sizeof(path), "/containers/%s/archive?path=/mnt/data", id);
	r = dk_call_stat(d, "HEAD", path, NULL, NULL, NULL, 0, &m, NULL,
	    DK_SHORT_MS, got);
	free(m.buf);
	if (r == 0 && got[0] == '\0') {
		snprintf(d->err, sizeof(d->err), "stat: no stat line");
		r = -1;
	}
	if (r == 0)
		snprintf(stat, len, "%s", got);
	return r;
}

int
dk_kill(struct dk *d, const char *id)
{
	return simple(d, "POST", id, "/kill");
}

int
dk_remove(struct dk *d, const char *id)
{
	return simple(d, "DELETE", id, "");
}

int
dk_put_archive(struct dk *d, const char *id, uint64_t size, dk_fill_fn fill,
    void *ctx)
{
	struct membuf m = { 0 };
	struct source src = { fill, ctx };
	char path[160];
	int r;

	snprintf(path, sizeof(path), "/containers/%s/archive?path=/mnt/data", id);
	r = dk_call(d, "PUT", path, NULL, "application/x-tar", &src, size, &m,
	    NULL, DK_SHORT_MS * 4);
	free(m.buf);
	return r;
}

int
dk_get_archive(struct dk *d, const char *id, int fd, uint64_t cap,
    uint64_t *len)
{
	struct sink s = { fd, 0, cap, 0, 0 };
	char path[160];
	int r;

	snprintf(path, sizeof(path), "/containers/%s/archive?path=/mnt/data", id);
	r = dk_call(d, "GET", path, NULL, NULL, NULL, 0, NULL, &s, DK_SHORT_MS * 4);
	*len = s.len;
	if (s.capped)
		snprintf(d->err, sizeof(d->err), "archive larger than %llu bytes",
		    (unsigned long long)cap);
	return s.capped ? -1 : r;
}

int
dk_exec_create(struct dk *d, const char *id, char *const argv[],
    char *const envp[], char *execid)
{
	struct membuf m = { 0 };
	cJSON *root, *a;
	char path[160], *body;
	size_t i;
	int r;

	if ((root = cJSON_CreateObject()) == NULL)
		return -1;
	a = cJSON_AddArrayToObject(root, "Cmd");
	for (i = 0; argv[i] != NULL; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
	a = cJSON_AddArrayToObject(root, "Env");
	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(envp[i]));
	body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (body == NULL)
		return -1;
	snprintf(path, sizeof(path), "/containers/%s/exec", id);
	r = dk_call(d, "POST", path, body, "application/json", NULL, 0, &m,
	    NULL, DK_SHORT_MS);
	if (r == 0)
		r = answer_id(d, &m, execid);
	free(body);
	free(m.buf);
	return r;
}

/* {"StatusCode":N} from wait */
static int
wait_status(struct dk *d, struct membuf *m, long *status)
{
	cJSON *j, *v;
	int r = -1;

	if ((j = parse_answer(d, m)) == NULL)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(j, "StatusCode");
	if (cJSON_IsNumber(v) && v->valuedouble >= -1 && v->valuedouble <= 255) {
		*status = v->valueint;
		r = 0;
	} else {
		snprintf(d->err, sizeof(d->err), "wait answer malformed");
	}
	cJSON_Delete(j);
	return r;
}

/* a second connection that waits for the container to stop */
struct dk_watch {
	struct dk	dk;		/* its own connection and error text */
	char		path[160];
	long		timeout_ms;
	atomic_int	stop;		/* run -> watcher: stop waiting */
	atomic_int	fired;		/* watcher -> run: the container stopped */
	pthread_t	thread;
	long		status;		/* read after the join */
	int		stopped;
};

static void *
watch_thread(void *arg)
{
	struct dk_watch *w = arg;
	struct membuf m = { 0 };
	int r;

	r = dk_call_cancel(&w->dk, "POST", w->path, NULL, NULL, NULL, 0, &m,
	    NULL, w->timeout_ms, &w->stop, NULL);
	if (r == 0 && wait_status(&w->dk, &m, &w->status) == 0) {
		w->stopped = 1;
		atomic_store(&w->fired, 1);
	} else if (r != -3) {
		log_warnx("dk_watch: %s", w->dk.err);
	}
	free(m.buf);
	return NULL;
}

struct dk_watch *
dk_watch_start(struct dk *d, const char *cid, long timeout_ms)
{
	struct dk_watch *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	dk_open(&w->dk, d->sock);
	snprintf(w->path, sizeof(w->path), "/containers/%s/wait", cid);
	w->timeout_ms = timeout_ms;
	atomic_init(&w->stop, 0);
	atomic_init(&w->fired, 0);
	if (cw_thread_spawn(&w->thread, watch_thread, w, 256 * 1024) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

int
dk_watch_end(struct dk_watch *w, long grace_ms, long *status)
{
	uint64_t until = cw_now_ms() + (uint64_t)(grace_ms > 0 ? grace_ms : 0);
	int stopped;

	if (w == NULL)
		return 0;
	while (!atomic_load(&w->fired) && cw_now_ms() < until) {
		struct timespec ts = { 0, 10000000L };

		nanosleep(&ts, NULL);
	}
	atomic_store(&w->stop, 1);
	pthread_join(w->thread, NULL);
	stopped = w->stopped;
	if (stopped && status != NULL)
		*status = w->status;
	dk_close(&w->dk);
	free(w);
	return stopped;
}

/*
 * Run the exec, its raw stream into fd, while a second connection waits for
 * the container to stop: a sandbox whose init or whole runtime died (gVisor's
 * kernel killed for memory) stops, but the engine never ends the exec's
 * stream, so the wait is what tells. Ends at the stream's end, the deadline,
 * the cap, or the container's stop, whichever comes first; the watch goes on
 * until dk_watch_end().
 */
enum dk_stream_end
dk_exec_start(struct dk *d, const char *cid, const char *execid, int fd,
    uint64_t cap, uint64_t deadline_ms, uint64_t *len, struct dk_watch **wp)
{
	struct sink s = { fd, 0, cap, 0, 0 };
	struct dk_watch *w;
	uint64_t now = cw_now_ms();
	long left = deadline_ms > now ? (long)(deadline_ms - now) : 1;
	char path[160];
	int r;

	if ((w = dk_watch_start(d, cid, left + 60000)) == NULL)
		log_warnx("dk_exec_start: no watch on the sandbox; the time limit "
		    "still holds");
	*wp = w;
	snprintf(path, sizeof(path), "/exec/%s/start", execid);
	r = dk_call_cancel(d, "POST", path, NULL, NULL, NULL, 0, NULL, &s, left,
	    w != NULL ? &w->fired : NULL, NULL);
	*len = s.len;
	if (s.capped)
		return DK_END_CAP;
	if (r == 0 && !s.failed)
		return DK_END_EOF;
	if (r == -3)
		return DK_END_EXITED;	/* the watch fired */
	if (r == -2)
		return DK_END_DEADLINE;
	return DK_END_ERROR;
}

int
dk_exec_inspect(struct dk *d, const char *execid, int *running, int *exit_code)
{
	struct membuf m = { 0 };
	cJSON *j = NULL, *v;
	char path[160];
	int r;

	snprintf(path, sizeof(path), "/exec/%s/json", execid);
	r = dk_call(d, "GET", path, NULL, NULL, NULL, 0, &m, NULL, DK_SHORT_MS);
	if (r != 0)
		goto out;
	r = -1;
	if ((j = parse_answer(d, &m)) == NULL)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(j, "Running");
	if (!cJSON_IsBool(v))
		goto bad;
	*running = cJSON_IsTrue(v);
	v = cJSON_GetObjectItemCaseSensitive(j, "ExitCode");
	if (cJSON_IsNull(v) || v == NULL)
		*exit_code = -1;
	else if (cJSON_IsNumber(v) && v->valuedouble >= -1 && v->valuedouble <= 255)
		*exit_code = v->valueint;
	else
		goto bad;
	r = 0;
	goto out;
bad:
	snprintf(d->err, sizeof(d->err), "exec inspect answer malformed");
out:
	cJSON_Delete(j);
	free(m.buf);
	return r;
}

int
dk_list(struct dk *d, char ids[][DK_ID_LEN + 1], int *running, int max)
{
	struct membuf m = { 0 };
	cJSON *j = NULL, *e;
	int n = -1;

	if (dk_call(d, "GET", "/containers/json", NULL, NULL, NULL, 0, &m, NULL,
	    DK_SHORT_MS) != 0)
		goto out;
	if ((j = parse_answer(d, &m)) == NULL || !cJSON_IsArray(j))
		goto out;
	n = 0;
	cJSON_ArrayForEach(e, j) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "Id");

		cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "State");

		if (n == max || !cJSON_IsString(v) || !dk_id_ok(v->valuestring))
			break;
		/* stopped: "exited" or "dead"; any other (or none) is not */
		if (running != NULL)
			running[n] = !cJSON_IsString(st) ||
			    (strcmp(st->valuestring, "exited") != 0 &&
			    strcmp(st->valuestring, "dead") != 0);
		memcpy(ids[n++], v->valuestring, DK_ID_LEN + 1);
	}
out:
	cJSON_Delete(j);
	free(m.buf);
	return n;
}

int
dk_stats(struct dk *d, uint64_t refusals[IPC_REFUSALS])
{
	struct membuf m = { 0 };
	cJSON *j = NULL, *o, *v;
	unsigned int i;
	int r = -1;

	if (dk_call(d, "GET", "/codeward/stats", NULL, NULL, NULL, 0, &m, NULL,
	    DK_SHORT_MS) != 0)
		goto out;
	if ((j = parse_answer(d, &m)) == NULL)
		goto out;
	o = cJSON_GetObjectItemCaseSensitive(j, "refused");
	for (i = 0; i < IPC_REFUSALS; i++) {
		v = cJSON_GetObjectItemCaseSensitive(o, ipc_refusal_name(i));
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		    v->valuedouble > 9007199254740992.0) {
			snprintf(d->err, sizeof(d->err), "stats answer malformed");
			goto out;
		}
		refusals[i] = (uint64_t)v->valuedouble;
	}
	r = 0;
out:
	cJSON_Delete(j);
	free(m.buf);
	return r;
}
