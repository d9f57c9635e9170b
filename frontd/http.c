/*
 * The HTTP API on libmicrohttpd: one thread per connection, keep-alive with
 * a long idle timeout, bodies bounded before they are read. Routes live in
 * one table; each is either open (health) or behind auth.
 */
#include "http.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "exec.h"
#include "log.h"
#include "privsep.h"
#include "reply.h"

#define IDLE_TIMEOUT_S		120	/* LibreChat keeps connections over 5 s */
#define HEALTH_WAIT_MS		5000
#define SMALL_BODY_MAX		(64 * 1024)

static struct MHD_Daemon *mhd;
static const struct policy *pol;

struct request {
	char		*body;
	size_t		len, max;
	int		too_large;
	int		done;		/* a reply was already queued */
	char		user[AUTH_USER_MAX];
};

typedef void route_fn(struct MHD_Connection *, struct request *, const char *,
    struct reply *);

static route_fn route_exec, route_health;

static const struct route {
	const char	*method;
	const char	*path;
	int		auth;
	route_fn	*fn;
} routes[] = {
	{ "POST", "/v1/exec", 1, route_exec },
	{ "GET", "/v1/health", 0, route_health },
};

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->body == NULL)
		reply_error(r, 500, "internal", "no answer");
	if (r->body == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(r->len, r->body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(r->body);
		return MHD_NO;
	}
	r->body = NULL;
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
route_exec(struct MHD_Connection *conn, struct request *req, const char *url,
    struct reply *r)
{
	(void)conn;
	(void)url;
	exec_handle(req->body != NULL ? req->body : "", req->len, req->user, r);
}

static void
route_health(struct MHD_Connection *conn, struct request *req, const char *url,
    struct reply *r)
{
	(void)conn;
	(void)req;
	(void)url;
	if (privd_req_health(HEALTH_WAIT_MS))
		reply_json(r, 200, strdup("{\"status\":\"ok\"}"));
	else
		reply_error(r, 503, "unavailable", "the sandbox engine does not answer");
}

/* the auth hook: 401 or 429 into r unless the credentials are good */
static enum auth_result
authenticate(struct MHD_Connection *conn, struct request *req, struct reply *r)
{
	const union MHD_ConnectionInfo *ci;
	enum auth_result a;
	unsigned int retry = 0;
	cJSON *j;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	a = auth_request(ci != NULL ? ci->client_addr : NULL,
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-API-Key"),
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION), req->user, sizeof(req->user), &retry);
	switch (a) {
	case AUTH_OK:
		break;
	case AUTH_LIMITED:
		/* CONTRACT: {"error":"rate_limited","retry_after_seconds":N} */
		snprintf(r->retry_after, sizeof(r->retry_after), "%u", retry);
		if ((j = cJSON_CreateObject()) != NULL) {
			cJSON_AddStringToObject(j, "error", "rate_limited");
			cJSON_AddStringToObject(j, "message",
			    "too many failed authentication attempts from this address");
			cJSON_AddNumberToObject(j, "retry_after_seconds", retry);
			reply_json(r, 429, cJSON_PrintUnformatted(j));
			cJSON_Delete(j);
		}
		break;
	case AUTH_MISSING:
		reply_error(r, 401, "unauthorized", "an API key or token is required");
		break;
	default:
		reply_error(r, 401, "unauthorized", "the API key or token is not valid");
		break;
	}
	return a;
}

static const struct route *
find_route(const char *method, const char *url, int *wrong_method)
{
	size_t i;

	*wrong_method = 0;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, url) != 0)
			continue;
		if (strcmp(routes[i].method, method) == 0)
			return &routes[i];
		*wrong_method = 1;
	}
	return NULL;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct request *req = *con_cls;
	const struct route *rt;
	struct reply r;
	int wrong_method;

	(void)cls;
	(void)version;
	reply_init(&r);
	if (req == NULL) {
		/* first call: headers only. Route and authenticate now. */
		if ((req = calloc(1, sizeof(*req))) == NULL)
			return MHD_NO;
		*con_cls = req;
		rt = find_route(method, url, &wrong_method);
		if (rt == NULL) {
			req->done = 1;
			if (wrong_method)
				reply_error(&r, 405, "method_not_allowed",
				    "%s is not allowed here", method);
			else
				reply_error(&r, 404, "not_found", "no such route");
			return send_reply(conn, &r);
		}
		if (rt->auth && authenticate(conn, req, &r) != AUTH_OK) {
			req->done = 1;
			return send_reply(conn, &r);
		}
		req->max = rt->fn == route_exec ? exec_body_max() : SMALL_BODY_MAX;
		return MHD_YES;
	}
	if (req->done) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		if (req->too_large || req->len + n > req->max) {
			req->too_large = 1;
		} else {
			char *nb = realloc(req->body, req->len + n + 1);

			if (nb == NULL)
				return MHD_NO;
			req->body = nb;
			memcpy(req->body + req->len, upload_data, n);
			req->len += n;
			req->body[req->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* the whole body has arrived */
	req->done = 1;
	rt = find_route(method, url, &wrong_method);
	if (req->too_large)
		reply_error(&r, 413, "too_large", "the request body is larger than %zu bytes",
		    req->max);
	else
		rt->fn(conn, req, url, &r);
	return send_reply(conn, &r);
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

int
http_start(int listen_fd, const struct policy *p)
{
	pol = p;
	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, handler, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_END);
	return mhd != NULL ? 0 : -1;
}

/*
 * Stop accepting, give requests in flight up to grace_s to finish, then
 * return; the caller exits without waiting for the rest (privd removes
 * their sandboxes).
 */
void
http_stop(unsigned int grace_s)
{
	const union MHD_DaemonInfo *info;
	unsigned int i;

	if (mhd == NULL)
		return;
	MHD_quiesce_daemon(mhd);
	for (i = 0; i < grace_s * 10; i++) {
		struct timespec ts = { 0, 100000000L };

		info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (info == NULL || info->num_connections == 0)
			break;
		nanosleep(&ts, NULL);
	}
}
