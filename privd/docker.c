#include "docker.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if ((d->curl = curl_easy_init()) == NULL) {
		snprintf(d->err, sizeof(d->err), "curl_easy_init failed");
		return -1;
	}
	return 0;
}

void
dk_close(struct dk *d)
{
	if (d->curl != NULL)
		curl_easy_cleanup(d->curl);
	d->curl = NULL;
}

static size_t
mem_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct membuf *m = ud;
	size_t n = size * nmemb;

	if (m->len + n > DK_JSON_MAX) {
		m->overflow = 1;
		return 0;
	}
	if (m->len + n + 1 > m->cap) {
		size_t ncap = (m->len + n + 1) * 2;
		char *nb = realloc(m->buf, ncap);

		if (nb == NULL)
			return 0;
		m->buf = nb;
		m->cap = ncap;
	}
	memcpy(m->buf + m->len, ptr, n);
	m->len += n;
	m->buf[m->len] = '\0';
	return n;
}

static size_t
fd_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (s->len + n > s->cap) {
		size_t room = (size_t)(s->cap - s->len);

		if (room > 0 && cw_write_all(s->fd, ptr, room) == 0)
			s->len += room;
		s->capped = 1;
		return 0;	/* aborts the transfer */
	}
	if (cw_write_all(s->fd, ptr, n) != 0) {
		s->failed = 1;
		return 0;
	}
	s->len += n;
	return n;
}

static size_t
src_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct source *s = ud;
	size_t n = s->fill(buf, size * nitems, s->ctx);

	return n == DK_FILL_ABORT ? CURL_READFUNC_ABORT : n;
}

/*
 * Set up one request on handle c. body/ctype for a JSON body; src/size for a
 * streamed body; out for a JSON answer, sink for a raw one. Returns the
 * header list the caller frees after the transfer.
 */
static struct curl_slist *
dk_setup(CURL *c, const char *sock, const char *method, const char *path,
    const char *body, const char *ctype, struct source *src, uint64_t size,
    struct membuf *out, struct sink *sink, long timeout_ms)
{
	struct curl_slist *hdrs = NULL;
	char url[256], ct[64];

	curl_easy_reset(c);
	snprintf(url, sizeof(url), "%s%s", DK_BASE, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	/* exactly the headers sockproxy's grammar names, no more */
	hdrs = curl_slist_append(hdrs, "Accept:");
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, ct);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (src != NULL) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, src_read);
		curl_easy_setopt(c, CURLOPT_READDATA, src);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (sink != NULL) {
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fd_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	} else {
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	}
	return hdrs;
}

/* the outcome of a finished transfer: 0, -1, or -2 for a timeout */
static int
dk_result(struct dk *d, CURL *c, CURLcode rc, const char *method,
    const char *path, const struct membuf *out)
{
	d->status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &d->status);
	if (rc != CURLE_OK) {
		snprintf(d->err, sizeof(d->err), "%s %s: %s", method, path,
		    curl_easy_strerror(rc));
		return rc == CURLE_OPERATION_TIMEDOUT ? -2 : -1;
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

static int
dk_call(struct dk *d, const char *method, const char *path,
    const char *body, const char *ctype, struct source *src, uint64_t size,
    struct membuf *out, struct sink *sink, long timeout_ms)
{
	struct curl_slist *hdrs;
	CURLcode rc;

	hdrs = dk_setup(d->curl, d->sock, method, path, body, ctype, src, size,
	    out, sink, timeout_ms);
	rc = curl_easy_perform(d->curl);
	curl_slist_free_all(hdrs);
	return dk_result(d, d->curl, rc, method, path, out);
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
create_body(const struct policy *p, const char *image)
{
	cJSON *root, *hc, *cmd;
	char *s = NULL;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(root, "Image", image);
	cmd = cJSON_AddArrayToObject(root, "Cmd");
	cJSON_AddItemToArray(cmd, cJSON_CreateString("sleep"));
	cJSON_AddItemToArray(cmd, cJSON_CreateString("infinity"));
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
dk_create(struct dk *d, const struct policy *p, const char *image, char *id)
{
	struct membuf m = { 0 };
	char *body;
	int r;

	if ((body = create_body(p, image)) == NULL) {
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

/*
 * Run the exec, its raw stream into fd, while a second connection waits for
 * the container to stop: a sandbox whose init or whole runtime died (gVisor's
 * kernel killed for memory) stops, but the daemon never ends the exec's
 * stream, so the wait is what tells. Ends at the stream's end, the deadline,
 * the cap, or the container's stop, whichever is first.
 */
enum dk_stream_end
dk_exec_start(struct dk *d, const char *cid, const char *execid, int fd,
    uint64_t cap, uint64_t deadline_ms, uint64_t *len, long *cstatus)
{
	struct sink s = { fd, 0, cap, 0, 0 };
	struct membuf wm = { 0 };
	struct curl_slist *xh = NULL, *wh = NULL;
	CURLM *m = NULL;
	CURL *w = NULL;
	char xpath[160], wpath[160];
	enum dk_stream_end end = DK_END_ERROR;
	int xdone = 0, wdone = 0, xr = -1, running;
	uint64_t now = cw_now_ms();
	long left = deadline_ms > now ? (long)(deadline_ms - now) : 1;

	*len = 0;
	*cstatus = -1;
	snprintf(xpath, sizeof(xpath), "/exec/%s/start", execid);
	snprintf(wpath, sizeof(wpath), "/containers/%s/wait", cid);
	if ((m = curl_multi_init()) == NULL || (w = curl_easy_init()) == NULL) {
		snprintf(d->err, sizeof(d->err), "curl: out of memory");
		goto out;
	}
	/* curl's own timeout is a backstop; the deadline below is the limit */
	xh = dk_setup(d->curl, d->sock, "POST", xpath, NULL, NULL, NULL, 0, NULL,
	    &s, left + 5000);
	wh = dk_setup(w, d->sock, "POST", wpath, NULL, NULL, NULL, 0, &wm, NULL,
	    left + 5000);
	if (curl_multi_add_handle(m, d->curl) != CURLM_OK ||
	    curl_multi_add_handle(m, w) != CURLM_OK) {
		snprintf(d->err, sizeof(d->err), "curl_multi_add_handle failed");
		goto out;
	}
	for (;;) {
		struct CURLMsg *msg;
		int q;

		if (curl_multi_perform(m, &running) != CURLM_OK) {
			snprintf(d->err, sizeof(d->err), "curl_multi_perform failed");
			goto out;
		}
		while ((msg = curl_multi_info_read(m, &q)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (msg->easy_handle == d->curl) {
				xdone = 1;
				xr = dk_result(d, d->curl, msg->data.result, "POST",
				    xpath, NULL);
			} else if (msg->easy_handle == w && !wdone) {
				struct dk wd;

				wdone = 1;
				memset(&wd, 0, sizeof(wd));
				if (dk_result(&wd, w, msg->data.result, "POST", wpath,
				    &wm) == 0 && wait_status(&wd, &wm, cstatus) == 0)
					wdone = 2;	/* the container stopped */
				else
					log_warnx("dk_exec_start: %s", wd.err);
				curl_multi_remove_handle(m, w);
			}
		}
		if (s.capped) {
			end = DK_END_CAP;
			break;
		}
		if (xdone) {
			end = xr == 0 && !s.failed ? DK_END_EOF : DK_END_ERROR;
			break;
		}
		if (wdone == 2) {
			end = DK_END_EXITED;
			break;
		}
		now = cw_now_ms();
		if (now >= deadline_ms) {
			end = DK_END_DEADLINE;
			break;
		}
		if (curl_multi_poll(m, NULL, 0, (int)(deadline_ms - now < 1000 ?
		    deadline_ms - now : 1000), NULL) != CURLM_OK) {
			snprintf(d->err, sizeof(d->err), "curl_multi_poll failed");
			goto out;
		}
	}
	/* a stream that ended with the container: the container's stop decides */
	if (end == DK_END_ERROR && wdone == 2)
		end = DK_END_EXITED;
out:
	*len = s.len;
	if (m != NULL) {
		curl_multi_remove_handle(m, d->curl);
		if (w != NULL && wdone == 0)
			curl_multi_remove_handle(m, w);
		curl_multi_cleanup(m);
	}
	if (w != NULL)
		curl_easy_cleanup(w);
	curl_slist_free_all(xh);
	curl_slist_free_all(wh);
	free(wm.buf);
	return end;
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
