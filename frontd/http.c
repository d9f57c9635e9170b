/*
 * The HTTP API on libmicrohttpd: one thread per connection, keep-alive with
 * a long idle timeout, bodies bounded before they are read. Routes live in
 * one table; each is either open (health) or behind auth.
 */
#include "http.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "budget.h"
#include "client.h"
#include "current.h"
#include "exec.h"
#include "files.h"
#include "health.h"
#include "hold.h"
#include "log.h"
#include "metrics.h"
#include "privsep.h"
#include "ptc.h"
#include "reply.h"
#include "strict.h"
#include "upload.h"
#include "util.h"

#define IDLE_TIMEOUT_S		120	/* LibreChat keeps connections over 5 s */
/*
 * Connections cost a thread each, and nothing may hold them that has not
 * shown a credential. A connection gets the policy's header-timeout to send
 * a request (and, unauthenticated, between requests); only one whose
 * request authenticated is kept IDLE_TIMEOUT_S between requests. One
 * address holds at most connections-per-address of the connections: a
 * flood from another address leaves LibreChat's connections free.
 * (LibreChat is one address too, and a flood from its own address, e.g.
 * through the same reverse proxy, shares its quota: what keeps that bounded
 * is the header timeout and the health cache, health.c, not the
 * per-address limit.)
 */
#define METRICS_CONN_MAX	CW_FRONTD_METRICS_CONN_MAX
/*
 * Node's global HTTP agent (keep-alive, node >= 19) gives a reused socket a
 * 5 s timeout, and neither node-fetch nor axios listens for it: a request
 * that stays silent for 5 s is torn down ("socket hang up"). An execution
 * that has no answer within EXEC_HOLD_MS is answered 200 at once, and its
 * JSON body is preceded by a space every EXEC_BEAT_MS (JSON allows leading
 * whitespace) until the result is ready.
 */
#define EXEC_HOLD_MS		3000
#define EXEC_BEAT_MS		2000
#define SMALL_BODY_MAX		(64 * 1024)
#define ROUTE_ARGS		2	/* '*' segments in a route's path */
#define ROUTE_ARG_MAX		64	/* longer is no id: answered 400 */

/* the API listener, and the policy's own metrics listener when it names one */
enum listener { LISTEN_API, LISTEN_METRICS };
static const enum listener listen_api = LISTEN_API;
static const enum listener listen_metrics = LISTEN_METRICS;

static struct MHD_Daemon *mhd, *mhd_metrics;
static const struct policy *pol;

enum body { BODY_SMALL, BODY_EXEC, BODY_PTC, BODY_UPLOAD, BODY_UPLOAD_BATCH };

struct request {
	const struct route	*rt;
	char			arg[ROUTE_ARGS][ROUTE_ARG_MAX + 2];
	char			*body;
	size_t			len, max;
	int			too_large;
	int			done;		/* a reply was already queued */
	struct upload		*up;		/* BODY_UPLOAD*: streamed, not kept */
	char			user[AUTH_USER_MAX];
	struct hold		hold;		/* privd's copy of the connection */
};

typedef void route_fn(struct MHD_Connection *, struct request *, struct reply *);

/*
 * One execution in its worker thread, shared with the connection that asked
 * for it until both are done with it (refs).
 */
struct exec_job {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	int		refs;
	int		done;
	struct reply	r;
	size_t		sent;		/* of r.body, by the streaming callback */
	char		*body;
	size_t		len;
	char		user[AUTH_USER_MAX];
	char		profile[32];
	const struct route *rt;		/* /v1/exec or a programmatic one */
	char		reqid[PTC_REQUEST_ID_MAX + 1];
	char		workspace[PTC_WORKSPACE_MAX + 2];	/* its header, or "" */
	struct hold	hold;		/* the request's, once the head is out */
};

static route_fn route_upload, route_download,
    route_object, route_list, route_delete, route_health, route_metrics;

/*
 * Paths are matched segment by segment; '*' matches one non-empty segment
 * and is handed to the route as req->arg[], checked there (a malformed id
 * is a 400, not a 404).
 */
static const struct route {
	const char	*method;
	const char	*path;
	int		auth;
	enum body	body;
	route_fn	*fn;
} routes[] = {
	{ "POST", "/v1/exec", 1, BODY_EXEC, NULL },	/* exec_answer() */
	{ "POST", "/v1/exec/programmatic", 1, BODY_PTC, NULL },	/* ptc_route.c */
	{ "POST", "/v1/exec/programmatic/cancel", 1, BODY_PTC, NULL },
	{ "POST", "/v1/upload", 1, BODY_UPLOAD, route_upload },
	{ "POST", "/v1/upload/batch", 1, BODY_UPLOAD_BATCH, route_upload },
	{ "GET", "/v1/download/*/*", 1, BODY_SMALL, route_download },
	{ "GET", "/v1/sessions/*/objects/*", 1, BODY_SMALL, route_object },
	{ "DELETE", "/v1/sessions/*/objects/*", 1, BODY_SMALL, route_delete },
	{ "GET", "/v1/files/*", 1, BODY_SMALL, route_list },
	{ "DELETE", "/v1/files/*/*", 1, BODY_SMALL, route_delete },
	{ "GET", "/v1/health", 0, BODY_SMALL, route_health },
	/* the policy's [metrics] may move it to a listener of its own */
	{ "GET", "/metrics", 1, BODY_SMALL, route_metrics },
};

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->file_fd >= 0) {
		/* a download: straight from the store file, exact length */
		resp = MHD_create_response_from_fd64(r->file_size, r->file_fd);
		if (resp == NULL) {
			close(r->file_fd);
			return MHD_NO;
		}
		r->file_fd = -1;
		metrics_http_response(r->status, r->file_size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->file_ctype[0] != '\0' ? r->file_ctype : "application/octet-stream");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
		    r->disposition);
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		ret = MHD_queue_response(conn, r->status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (r->body == NULL)
		reply_error(r, 500, "internal", "no answer");
	if (r->body == NULL)
		return MHD_NO;
	if (r->status >= 400 && !r->logged) {
		/* every refusal gets a line; our own JSON, escaped and cut */
		char esc[256];

		log_info("http: answered %u %s", r->status,
		    log_str(esc, sizeof(esc), r->body, r->len));
	}
	resp = MHD_create_response_from_buffer(r->len, r->body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(r->body);
		return MHD_NO;
	}
	r->body = NULL;
	metrics_http_response(r->status, r->len);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    r->ctype != NULL ? r->ctype : "application/json");
	if (r->retry_after[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
		    r->retry_after);
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
job_unref(struct exec_job *j)
{
	int last;

	pthread_mutex_lock(&j->lock);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->lock);
	if (!last)
		return;
	free(j->r.body);
	free(j->body);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j);
}

static void *
exec_worker(void *arg)
{
	struct exec_job *j = arg;
	struct reply r;

	reply_init(&r);
	if (j->rt->body == BODY_PTC)
		ptc_handle(strcmp(j->rt->path, "/v1/exec/programmatic") != 0,
		    j->body != NULL ? j->body : "", j->len, j->user, j->reqid,
		    j->workspace, &r);
	else
		exec_handle(j->body != NULL ? j->body : "", j->len, j->user,
		    j->profile[0] != '\0' ? j->profile : NULL, &r);
	pthread_mutex_lock(&j->lock);
	j->r = r;
	j->done = 1;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
	job_unref(j);
	return NULL;
}

/* wait up to ms for the worker; 1 when it is done. Caller holds j->lock. */
static int
job_wait(struct exec_job *j, long ms)
{
	struct timespec ts;

	cw_abstime_ms(&ts, ms > 0 ? (uint64_t)ms : 0);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cond, &j->lock, &ts) != 0)
			break;
	return j->done;
}

/* the late answer: spaces while the run goes on, then its JSON */
static ssize_t
exec_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct exec_job *j = cls;
	size_t n;

	(void)pos;
	pthread_mutex_lock(&j->lock);
	/* libmicrohttpd sends the head before it first asks for the body */
	hold_mark(&j->hold, IPC_CONN_SPACES);
	if (!job_wait(j, EXEC_BEAT_MS)) {
		pthread_mutex_unlock(&j->lock);
		buf[0] = ' ';
		metrics_http_sent(1);
		return 1;
	}
	if (j->sent == 0 && j->r.status != 200) {
		char esc[256];

		/* committed to 200 already: the error goes in its stderr */
		log_info("http: answered %u late, inside a 200: %s", j->r.status,
		    log_str(esc, sizeof(esc), j->r.body ? j->r.body : "", j->r.len));
		reply_late(&j->r);
	}
	hold_mark(&j->hold, IPC_CONN_RESPONDING);
	if (j->r.body == NULL || j->sent >= j->r.len) {
		pthread_mutex_unlock(&j->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = j->r.len - j->sent < max ? j->r.len - j->sent : max;
	memcpy(buf, j->r.body + j->sent, n);
	j->sent += n;
	pthread_mutex_unlock(&j->lock);
	metrics_http_sent(n);
	return (ssize_t)n;
}

static void
exec_stream_free(void *cls)
{
	job_unref(cls);
}

/* an answer now: privd's copy is told before its first byte can leave */
static enum MHD_Result
answer(struct MHD_Connection *conn, struct request *req, struct reply *r)
{
	hold_mark(&req->hold, IPC_CONN_RESPONDING);
	return send_reply(conn, r);
}

/*
 * POST /v1/exec: the run goes to a worker thread; an answer within
 * EXEC_HOLD_MS goes out as usual (with its own status), a later one as a
 * 200 kept alive by whitespace (see EXEC_HOLD_MS above).
 */
static enum MHD_Result
exec_answer(struct MHD_Connection *conn, struct request *req)
{
	struct MHD_Response *resp;
	struct exec_job *j;
	const char *profile;
	struct reply r;
	enum MHD_Result ret;

	reply_init(&r);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(&r, 503, "unavailable", "out of memory");
		return answer(conn, req, &r);
	}
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	reply_init(&j->r);
	j->refs = 2;		/* the worker and this connection */
	j->body = req->body;
	j->len = req->len;
	req->body = NULL;
	memcpy(j->user, req->user, sizeof(j->user));
	j->hold = req->hold;
	profile = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "X-CodeAPI-Expected-Profile");
	if (profile != NULL)
		snprintf(j->profile, sizeof(j->profile), "%s", profile);
	j->rt = req->rt;
	profile = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "X-LibreChat-Code-Request-ID");
	snprintf(j->reqid, sizeof(j->reqid), "%s", profile != NULL ? profile : "");
	profile = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "X-LibreChat-Code-Workspace-ID");
	snprintf(j->workspace, sizeof(j->workspace), "%s", profile ? profile : "");
	if (cw_thread_spawn(NULL, exec_worker, j, 256 * 1024) != 0) {
		j->refs = 1;
		job_unref(j);
		reply_error(&r, 503, "unavailable", "no thread for the run");
		return answer(conn, req, &r);
	}

	pthread_mutex_lock(&j->lock);
	if (job_wait(j, EXEC_HOLD_MS)) {
		r = j->r;
		reply_init(&j->r);
		pthread_mutex_unlock(&j->lock);
		job_unref(j);
		return answer(conn, req, &r);
	}
	pthread_mutex_unlock(&j->lock);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    exec_stream, j, exec_stream_free);
	if (resp == NULL) {
		job_unref(j);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	metrics_http_response(200, 0);	/* its bytes as exec_stream sends them */
	return ret;
}

static void
route_upload(struct MHD_Connection *conn, struct request *req, struct reply *r)
{
	(void)conn;
	upload_finish(req->up, r);
}

/* who asks, for owner checks; -1 with r set */
static int
requester(struct MHD_Connection *conn, struct request *req, char *who,
    struct reply *r)
{
	return files_requester(conn, req->user, who, r);
}

static void
route_download(struct MHD_Connection *conn, struct request *req, struct reply *r)
{
	char who[FILES_WHO_MAX];

	if (requester(conn, req, who, r) == 0)
		files_download(req->arg[0], req->arg[1], who, r);
}

static void
route_object(struct MHD_Connection *conn, struct request *req, struct reply *r)
{
	char who[FILES_WHO_MAX];

	if (requester(conn, req, who, r) == 0)
		files_object(req->arg[0], req->arg[1], who, r);
}

static void
route_list(struct MHD_Connection *conn, struct request *req, struct reply *r)
{
	char who[FILES_WHO_MAX];

	if (requester(conn, req, who, r) == 0)
		files_list(req->arg[0], MHD_lookup_connection_value(conn,
		    MHD_GET_ARGUMENT_KIND, "detail"), who, r);
}

static void
route_delete(struct MHD_Connection *conn, struct request *req, struct reply *r)
{
	char who[FILES_WHO_MAX];

	if (requester(conn, req, who, r) == 0)
		files_delete(req->arg[0], req->arg[1], who, r);
}

static void
route_metrics(struct MHD_Connection *conn, struct request *req, struct reply *r)
{
	(void)conn;
	(void)req;
	metrics_reply(r);
}

static void
route_health(struct MHD_Connection *conn, struct request *req, struct reply *r)
{
	(void)conn;
	(void)req;
	if (health_ok())
		reply_json(r, 200, strdup("{\"status\":\"ok\"}"));
	else
		reply_error(r, 503, "unavailable", "the sandbox engine does not answer");
}

/* does url match the template? The '*' segments are copied to args */
static int
path_match(const char *tmpl, const char *url, char args[][ROUTE_ARG_MAX + 2])
{
	size_t na = 0;

	while (*tmpl != '\0' && *url != '\0') {
		if (*tmpl == '*') {
			size_t n = strcspn(url, "/");

			if (n == 0 || na == ROUTE_ARGS)
				return 0;
			/* too long for an id: keep a prefix that can never pass */
			if (n > ROUTE_ARG_MAX)
				n = ROUTE_ARG_MAX + 1;
			memcpy(args[na], url, n);
			args[na][n] = '\0';
			na++;
			url += strcspn(url, "/");
			tmpl++;
			continue;
		}
		if (*tmpl != *url)
			return 0;
		tmpl++;
		url++;
	}
	return *tmpl == '\0' && *url == '\0';
}

static const struct route *
find_route(const char *method, const char *url, char args[][ROUTE_ARG_MAX + 2],
    int *wrong_method)
{
	size_t i;

	*wrong_method = 0;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!path_match(routes[i].path, url, args))
			continue;
		if (strcmp(routes[i].method, method) == 0)
			return &routes[i];
		*wrong_method = 1;
	}
	return NULL;
}

/*
 * /metrics is served where the policy puts it (the API listener, its own, or
 * nowhere), and nothing else is served on a metrics listener.
 */
static int
route_here(const struct route *rt, const char *url, enum listener which)
{
	if (which == LISTEN_METRICS)
		return strcmp(url, "/metrics") == 0;
	return rt == NULL || rt->fn != route_metrics || pol->metrics == METRICS_API;
}

/* keep a small body in memory, up to req->max */
static int
body_append(struct request *req, const char *data, size_t n)
{
	char *nb;

	if (req->too_large || req->len + n > req->max) {
		req->too_large = 1;
		return 0;
	}
	if ((nb = realloc(req->body, req->len + n + 1)) == NULL)
		return -1;
	req->body = nb;
	memcpy(req->body + req->len, data, n);
	req->len += n;
	req->body[req->len] = '\0';
	return 0;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct request *req = *con_cls;
	enum listener which = *(const enum listener *)cls;
	const struct route *rt;
	struct reply r;
	int wrong_method, need_auth;

	reply_init(&r);
	if (req == NULL) {
		/* first call: headers only. Route and authenticate now. */
		if ((req = calloc(1, sizeof(*req))) == NULL)
			return MHD_NO;
		*con_cls = req;
		if (strict_request_ok(conn, method, version) != 0) {
			req->done = 1;
			reply_error(&r, 400, "bad_request",
			    "a header, the path or a query argument holds a NUL character");
			return send_reply(conn, &r);
		}
		rt = find_route(method, url, req->arg, &wrong_method);
		if (!route_here(rt, url, which)) {
			rt = NULL;
			wrong_method = 0;
		}
		if (rt == NULL) {
			req->done = 1;
			if (wrong_method)
				reply_error(&r, 405, "method_not_allowed",
				    "%s is not allowed here", method);
			else
				reply_error(&r, 404, "not_found", "no such route");
			return send_reply(conn, &r);
		}
		req->rt = rt;
		need_auth = rt->auth;
		if (which == LISTEN_METRICS)
			need_auth = pol->metrics_auth;
		if (need_auth && client_authenticate(conn, req->user, sizeof(req->user), &r) != AUTH_OK) {
			req->done = 1;
			return send_reply(conn, &r);
		}
		if (need_auth)
			MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
			    (unsigned int)IDLE_TIMEOUT_S);
		if (rt->body == BODY_UPLOAD || rt->body == BODY_UPLOAD_BATCH) {
			req->up = upload_begin(conn, rt->body == BODY_UPLOAD_BATCH,
			    req->user, &r);
			if (req->up == NULL) {
				req->done = 1;
				return send_reply(conn, &r);
			}
		}
		req->max = rt->body == BODY_EXEC ? exec_body_max() :
		    rt->body == BODY_PTC ? ptc_body_max() : SMALL_BODY_MAX;
		if (req->up == NULL && strict_length_over(conn, req->max)) {
			req->done = 1;
			reply_error(&r, 413, "too_large",
			    "the request body is larger than %zu bytes", req->max);
			return send_reply(conn, &r);
		}
		return MHD_YES;
	}
	if (req->done) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		metrics_http_received(*upload_data_size);
		if (req->up != NULL)
			upload_feed(req->up, upload_data, *upload_data_size);
		else if (body_append(req, upload_data, *upload_data_size) != 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* the whole body has arrived: privd holds a copy until it is answered */
	req->done = 1;
	hold_take(&req->hold, conn, version);
	if (req->too_large)
		reply_error(&r, 413, "too_large", "the request body is larger than %zu bytes",
		    req->max);
	else if (req->rt->body == BODY_EXEC || req->rt->body == BODY_PTC)
		return exec_answer(conn, req);
	else
		req->rt->fn(conn, req, &r);
	return answer(conn, req, &r);
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req == NULL)
		return;
	hold_drop(&req->hold);
	upload_free(req->up);
	free(req->body);
	free(req);
	*con_cls = NULL;
}

static void mhd_log(void *, const char *, va_list) __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warnx("http: %s", msg);
}

static struct MHD_Daemon *
start_daemon(int listen_fd, const enum listener *which, unsigned int limit,
    unsigned int per_address)
{
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, handler, (void *)which,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)pol->header_timeout_s,
	    MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(CW_MHD_STACK),
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_URI_LOG_CALLBACK, strict_request_begin, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, strict_unescape, NULL,
	    MHD_OPTION_END);
}

int
http_start(int listen_fd, int metrics_fd, const struct policy *p)
{
	pol = p;	/* [metrics] and the connection keys: a reload never changes them */
	if ((mhd = start_daemon(listen_fd, &listen_api, pol->conn_max,
	    pol->conn_per_address)) == NULL)
		return -1;
	if (metrics_fd >= 0 &&
	    (mhd_metrics = start_daemon(metrics_fd, &listen_metrics, METRICS_CONN_MAX,
	    METRICS_CONN_MAX / 2)) == NULL)
		return -1;
	return 0;
}

/*
 * Stop accepting, give requests in flight up to grace_s to finish, then
 * return; the caller exits without waiting for the rest (privd removes
 * their sandboxes).
 */
void
http_stop(unsigned int grace_s)
{
	static int stopping;
	const union MHD_DaemonInfo *info;
	unsigned int i;
	MHD_socket fd;

	if (mhd == NULL)
		return;
	/* once (privsep's reader may call this beside the main thread) */
	if (!__atomic_exchange_n(&stopping, 1, __ATOMIC_SEQ_CST)) {
		if (mhd_metrics != NULL)
			MHD_stop_daemon(mhd_metrics);
		/* the listener closed at once: the next frontd binds the port */
		if ((fd = MHD_quiesce_daemon(mhd)) != MHD_INVALID_SOCKET)
			close(fd);
	}
	for (i = 0; i < grace_s * 10; i++) {
		struct timespec ts = { 0, 100000000L };

		info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (info == NULL || info->num_connections == 0)
			break;
		nanosleep(&ts, NULL);
	}
}
