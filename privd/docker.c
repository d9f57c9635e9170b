#include "docker.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	default: return "error";
	}
}

/*
 * One request. body/ctype for a JSON body; src/size for a streamed body;
 * out for a JSON answer, sink for a raw one. Returns 0, -2 on the deadline,
 * -1 otherwise.
 */
static int
dk_call(struct dk *d, const char *method, const char *path,
    const char *body, const char *ctype, struct source *src, uint64_t size,
    struct membuf *out, struct sink *sink, long timeout_ms)
{
	struct dkh_req req;
	char url[256];
	int r, status;

	snprintf(url, sizeof(url), "/v1.41%s", path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	req.ctype = ctype;
	if (body != NULL) {
		req.body = body;
		req.body_len = strlen(body);
	} else if (src != NULL) {
		req.source = src_read;
		req.source_ctx = src;
		req.source_len = size;
	}
	r = dkh_call(d->sock, &req, cw_now_ms() + (uint64_t)timeout_ms, &status,
	    sink != NULL ? fd_write : mem_write, sink != NULL ? (void *)sink : (void *)out);
	d->status = status;
	if (r != DKH_OK) {
		snprintf(d->err, sizeof(d->err), "%s %s: %s", method, path,
		    dkh_strerror(r));
		return r == DKH_ERR_TIMEOUT ? -2 : -1;
	}
	if (d->status < 200 || d->status > 299) {
		char esc[160];

		snprintf(d->err, sizeof(d->err), "%s %s: HTTP %ld %s", method,
		    path, d->status, out != NULL && out->buf != NULL ?
		    log_str(esc, sizeof(esc), out->buf, out->len) : "");
		return -1;
	}
	return 0;
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

enum dk_stream_end
dk_exec_start(struct dk *d, const char *execid, int fd, uint64_t cap,
    uint64_t deadline_ms, uint64_t *len)
{
	struct sink s = { fd, 0, cap, 0, 0 };
	uint64_t now = cw_now_ms();
	long left = deadline_ms > now ? (long)(deadline_ms - now) : 1;
	char path[160];
	int r;

	snprintf(path, sizeof(path), "/exec/%s/start", execid);
	r = dk_call(d, "POST", path, NULL, NULL, NULL, 0, NULL, &s, left);
	*len = s.len;
	if (s.capped)
		return DK_END_CAP;
	if (r == -2)
		return DK_END_DEADLINE;
	return r == 0 && !s.failed ? DK_END_EOF : DK_END_ERROR;
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
dk_list(struct dk *d, char ids[][DK_ID_LEN + 1], int max)
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

		if (n == max || !cJSON_IsString(v) || !dk_id_ok(v->valuestring))
			break;
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
