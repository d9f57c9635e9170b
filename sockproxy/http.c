#include "http.h"

#include <string.h>

const struct sp_route sp_routes[] = {
	{ SP_M_POST, SP_API "/containers/create", SP_OP_CREATE, SP_BODY_JSON },
	{ SP_M_POST, SP_API "/containers/{id}/start", SP_OP_START, SP_BODY_NONE },
	{ SP_M_PUT, SP_API "/containers/{id}/archive?path=/mnt/data",
	    SP_OP_PUT_ARCHIVE, SP_BODY_TAR },
	{ SP_M_GET, SP_API "/containers/{id}/archive?path=/mnt/data",
	    SP_OP_GET_ARCHIVE, SP_BODY_NONE },
	{ SP_M_POST, SP_API "/containers/{id}/exec", SP_OP_EXEC_CREATE,
	    SP_BODY_JSON },
	{ SP_M_POST, SP_API "/exec/{id}/start", SP_OP_EXEC_START, SP_BODY_NONE },
	{ SP_M_GET, SP_API "/exec/{id}/json", SP_OP_EXEC_INSPECT, SP_BODY_NONE },
	{ SP_M_POST, SP_API "/containers/{id}/kill", SP_OP_KILL, SP_BODY_NONE },
	{ SP_M_DELETE, SP_API "/containers/{id}", SP_OP_REMOVE, SP_BODY_NONE },
	{ SP_M_POST, SP_API "/containers/{id}/wait", SP_OP_WAIT, SP_BODY_NONE },
	{ SP_M_GET, SP_API "/containers/json", SP_OP_LIST, SP_BODY_NONE },
	{ SP_M_HEAD, SP_API "/containers/{id}/archive?path=/mnt/data",
	    SP_OP_STAT_ARCHIVE, SP_BODY_NONE },
	/* not the Docker API: sockproxy's own counters, never sent upstream */
	{ SP_M_GET, SP_API "/codeward/stats", SP_OP_STATS, SP_BODY_NONE },
	/* the agent's channel (chan.h): its exec, its hijacked start */
	{ SP_M_POST, SP_API "/containers/{id}/channel", SP_OP_CHANNEL_CREATE,
	    SP_BODY_NONE },
	{ SP_M_POST, SP_API "/containers/{id}/channel?jail=1",
	    SP_OP_CHANNEL_CREATE_JAIL, SP_BODY_NONE },
	{ SP_M_POST, SP_API "/exec/{id}/channel", SP_OP_CHANNEL_START,
	    SP_BODY_NONE },
};
const size_t sp_nroutes = sizeof(sp_routes) / sizeof(sp_routes[0]);

static const struct {
	const char	*name;
	enum sp_method	m;
} methods[] = {
	{ "GET", SP_M_GET }, { "POST", SP_M_POST }, { "PUT", SP_M_PUT },
	{ "DELETE", SP_M_DELETE }, { "HEAD", SP_M_HEAD },
};

const char *
sp_method_name(enum sp_method m)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].m == m)
			return methods[i].name;
	return "?";
}

const char *
sp_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

int
sp_http_head_end(const char *buf, size_t len, size_t *end)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\r') {
			if (i + 1 == len)
				return 0;
			if (buf[i + 1] != '\n')
				return -1;	/* bare CR */
			if (i + 3 < len && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
				*end = i + 4;
				return 1;
			}
			i++;	/* past the LF */
		} else if (buf[i] == '\n') {
			return -1;	/* bare LF */
		}
	}
	return 0;
}

static int
target_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '.' ||
	    c == '-' || c == '=' || c == '?';
}

/* segments: none empty, none "." or ".." (F9) */
static int
segments_ok(const char *path, size_t len)
{
	size_t i = 0;

	if (len == 0 || path[0] != '/')
		return 0;
	while (i < len) {
		size_t s = ++i;	/* past the '/' */

		while (i < len && path[i] != '/')
			i++;
		if (i == s)
			return 0;
		if ((i - s == 1 && path[s] == '.') ||
		    (i - s == 2 && path[s] == '.' && path[s + 1] == '.'))
			return 0;
	}
	return 1;
}

/* match one template; the id lands in id */
static int
tmpl_match(const char *tmpl, const char *t, size_t tlen, char *id)
{
	size_t i = 0;

	while (*tmpl != '\0') {
		if (strncmp(tmpl, "{id}", 4) == 0) {
			if (tlen - i < SP_ID_LEN || !sp_id_ok(t + i, SP_ID_LEN))
				return 0;
			memcpy(id, t + i, SP_ID_LEN);
			id[SP_ID_LEN] = '\0';
			i += SP_ID_LEN;
			tmpl += 4;
			continue;
		}
		if (i == tlen || t[i] != *tmpl)
			return 0;
		i++;
		tmpl++;
	}
	return i == tlen;
}

static int
route_find(struct sp_req *r, const char *t, size_t tlen, const char **why)
{
	char id[SP_ID_LEN + 1];
	size_t i;
	int other_method = 0;

	for (i = 0; i < sp_nroutes; i++) {
		if (!tmpl_match(sp_routes[i].tmpl, t, tlen, id))
			continue;
		if (sp_routes[i].method != r->method) {
			other_method = 1;
			continue;
		}
		r->route = &sp_routes[i];
		memcpy(r->id, id, sizeof(id));
		return 0;
	}
	if (other_method) {
		*why = "method not allowed on this route";
		return 405;
	}
	*why = "endpoint not allowed";
	return 403;
}

enum hdr { H_HOST, H_CTYPE, H_CLEN, H_COUNT };
static const char *const hdr_names[H_COUNT] = {
	"Host", "Content-Type", "Content-Length",
};

static int
parse_clen(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 15 || (n > 1 && v[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

static int
value_eq(const char *v, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(v, want, n) == 0;
}

static int
parse_header(struct sp_req *r, const char *l, size_t n, int *seen,
    const char **why)
{
	const char *colon, *v;
	size_t nlen, vlen, i;
	int h;

	if (n > 0 && (l[0] == ' ' || l[0] == '\t')) {
		*why = "obs-fold continuation line";
		return 400;
	}
	if ((colon = memchr(l, ':', n)) == NULL) {
		*why = "header line without ':'";
		return 400;
	}
	nlen = (size_t)(colon - l);
	for (h = 0; h < H_COUNT; h++)
		if (strlen(hdr_names[h]) == nlen &&
		    memcmp(l, hdr_names[h], nlen) == 0)
			break;
	if (h == H_COUNT) {
		*why = "header not allowed";
		return 400;
	}
	if (seen[h]) {
		*why = "duplicate header";
		return 400;
	}
	seen[h] = 1;
	/* exactly one space, then a value of visible bytes and inner spaces */
	if (nlen + 2 > n || colon[1] != ' ') {
		*why = "header value must follow ': '";
		return 400;
	}
	v = colon + 2;
	vlen = n - nlen - 2;
	if (vlen == 0 || v[0] == ' ' || v[vlen - 1] == ' ') {
		*why = "header value empty or padded";
		return 400;
	}
	for (i = 0; i < vlen; i++) {
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) {
			*why = "header value byte not allowed";
			return 400;
		}
	}
	switch (h) {
	case H_HOST:
		if (!value_eq(v, vlen, "docker")) {
			*why = "Host must be docker";
			return 400;
		}
		break;
	case H_CTYPE:
		if (value_eq(v, vlen, "application/json"))
			r->ctype = SP_CT_JSON;
		else if (value_eq(v, vlen, "application/x-tar"))
			r->ctype = SP_CT_TAR;
		else {
			*why = "Content-Type not allowed";
			return 415;
		}
		break;
	case H_CLEN:
		if (parse_clen(v, vlen, &r->clen) < 0) {
			*why = "Content-Length is not a plain number";
			return 400;
		}
		r->has_clen = 1;
		break;
	}
	return 0;
}

int
sp_http_parse(const char *buf, size_t len, struct sp_req *r, const char **why)
{
	const char *p = buf, *end = buf + len, *eol, *sp;
	int seen[H_COUNT] = { 0 }, st, nheaders = 0;
	size_t i, tlen;

	size_t hend;

	memset(r, 0, sizeof(*r));
	*why = "malformed request";
	if (sp_http_head_end(buf, len, &hend) != 1 || hend != len) {
		*why = "bare CR or LF, or not one whole head";
		return 400;
	}
	r->head_len = len;

	/* request line */
	eol = memchr(p, '\r', len);
	if ((sp = memchr(p, ' ', (size_t)(eol - p))) == NULL)
		return 400;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == (size_t)(sp - p) &&
		    memcmp(p, methods[i].name, (size_t)(sp - p)) == 0)
			r->method = methods[i].m;
	if (r->method == 0) {
		*why = "method not allowed";
		return 405;
	}
	p = sp + 1;
	if ((sp = memchr(p, ' ', (size_t)(eol - p))) == NULL)
		return 400;
	tlen = (size_t)(sp - p);
	if ((size_t)(eol - sp) != 9 || memcmp(sp, " HTTP/1.1", 9) != 0) {
		*why = "protocol must be HTTP/1.1";
		return 400;
	}
	if (tlen == 0 || tlen > SP_TARGET_MAX) {
		*why = "target empty or too long";
		return 400;
	}
	memcpy(r->target, p, tlen);
	r->target[tlen] = '\0';
	if (memchr(p, '%', tlen) != NULL) {
		*why = "percent-encoding in the target";
		return 400;
	}
	for (i = 0; i < tlen; i++) {
		if (!target_char(p[i])) {
			*why = "byte not allowed in the target";
			return 400;
		}
	}
	if (tlen < sizeof(SP_API) || memcmp(p, SP_API "/", sizeof(SP_API)) != 0) {
		*why = "target must start with " SP_API "/";
		return 400;
	}
	{
		const char *q = memchr(p, '?', tlen);
		size_t plen = q != NULL ? (size_t)(q - p) : tlen;

		if (!segments_ok(p, plen)) {
			*why = "empty, '.' or '..' path segment";
			return 400;
		}
	}
	if ((st = route_find(r, p, tlen, why)) != 0)
		return st;

	/* headers */
	p = eol + 2;
	while (p < end - 2) {
		eol = memchr(p, '\r', (size_t)(end - p));
		if ((st = parse_header(r, p, (size_t)(eol - p), seen, why)) != 0)
			return st;
		if (++nheaders > H_COUNT) {	/* cannot happen: each name once */
			*why = "too many headers";
			return 400;
		}
		p = eol + 2;
	}
	if (!seen[H_HOST]) {
		*why = "no Host header";
		return 400;
	}

	/* the body the route takes (rule 4) */
	switch (r->route->body) {
	case SP_BODY_NONE:
		if (r->has_clen || r->ctype != SP_CT_NONE) {
			*why = "no body is allowed on this route";
			return 400;
		}
		break;
	case SP_BODY_JSON:
		if (r->ctype != SP_CT_JSON) {
			*why = "Content-Type must be application/json";
			return 415;
		}
		if (!r->has_clen) {
			*why = "Content-Length required";
			return 411;
		}
		if (r->clen > SP_JSON_MAX) {
			*why = "body too large";
			return 413;
		}
		if (r->clen == 0) {
			*why = "empty body";
			return 400;
		}
		break;
	case SP_BODY_TAR:
		if (r->ctype != SP_CT_TAR) {
			*why = "Content-Type must be application/x-tar";
			return 415;
		}
		if (!r->has_clen) {
			*why = "Content-Length required";
			return 411;
		}
		if (r->clen < 1024 || r->clen % 512 != 0) {
			*why = "archive length is not whole tar blocks";
			return 400;
		}
		break;
	}
	*why = NULL;
	return 0;
}
