/*
 * The C-string checks of strict.h. libmicrohttpd hands headers, the path and
 * query arguments over as C strings, cJSON its strings likewise: each is
 * refused when its length as sent differs from its length as a C string.
 */
#include "strict.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/*
 * The request this thread serves decoded a %00 in its path or query
 * (libmicrohttpd runs one thread per connection, and parses the request
 * line in it, after strict_request_begin() and before the first call of
 * the handler).
 */
static __thread int url_nul;
static __thread size_t uri_len;	/* the request line's target, as sent */

/* the header lines the parsed pieces make, and how many there are */
struct lines {
	size_t	bytes, n;
};

/* a raw NUL anywhere, or a \u0000 escape in a string or key; 0 or -1 */
static int
json_has_nul(const char *s, size_t len)
{
	int in_str = 0;
	size_t i;

	if (memchr(s, '\0', len) != NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if (!in_str) {
			in_str = s[i] == '"';
			continue;
		}
		if (s[i] == '"') {
			in_str = 0;
			continue;
		}
		if (s[i] != '\\' || ++i == len)
			continue;
		if (s[i] == 'u' && len - i > 4 && memcmp(s + i + 1, "0000", 4) == 0)
			return -1;
	}
	return 0;
}

cJSON *
strict_json_parse(const char *body, size_t len, const char **why)
{
	const char *end = NULL;
	cJSON *j;

	if (json_has_nul(body, len) != 0)
		return *why = "JSON with a NUL character", NULL;
	/* RFC 8259: JSON between systems is UTF-8; cJSON would pass any byte */
	if (!utf8_valid((const unsigned char *)body, len))
		return *why = "JSON that is not UTF-8", NULL;
	if ((j = cJSON_ParseWithLengthOpts(body, len, &end, 0)) == NULL)
		return *why = "not JSON", NULL;
	for (; end < body + len; end++) {
		if (strchr(" \t\r\n", *end) == NULL) {
			cJSON_Delete(j);
			return *why = "bytes after the JSON value", NULL;
		}
	}
	return j;
}

int
strict_types(const cJSON *obj, const struct strict_field *f, size_t n,
    const char **bad)
{
	const cJSON *v;
	size_t i;

	for (i = 0; i < n; i++) {
		v = cJSON_GetObjectItemCaseSensitive(obj, f[i].key);
		if (v != NULL && (v->type & 0xff & f[i].types) == 0) {
			*bad = f[i].key;
			return -1;
		}
	}
	return 0;
}

int
strict_length_over(struct MHD_Connection *conn, uint64_t max)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);

	/* libmicrohttpd has checked it is a number */
	return cl != NULL && strtoull(cl, NULL, 10) > max + STRICT_DRAIN_MAX;
}

size_t
strict_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	size_t n;

	(void)cls;
	(void)conn;
	n = MHD_http_unescape(s);
	if (strlen(s) != n)
		url_nul = 1;
	return n;
}

static enum MHD_Result
value_whole(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	int *bad = cls;

	(void)kind;
	if (strlen(key) != key_size || (value != NULL && strlen(value) != value_size)) {
		*bad = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result
count_line(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	struct lines *l = cls;

	(void)kind;
	(void)key;
	(void)value;
	l->bytes += key_size + 1 + value_size + 2;	/* "Key:value\r\n" */
	l->n++;
	return MHD_YES;
}

/*
 * A raw NUL inside a header line: libmicrohttpd ends the value there, so
 * what it hands over is a whole C string and the bytes after the NUL are
 * gone. What still shows is the length: the header as received is longer
 * than the lines its parsed pieces make, with the one space after each
 * colon that clients send. 0, or -1 when bytes are unaccounted for.
 */
static int
header_whole(struct MHD_Connection *conn, const char *method, const char *version)
{
	const union MHD_ConnectionInfo *ci;
	struct lines l = { 0, 0 };
	size_t want;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (ci == NULL)
		return 0;
	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, count_line, &l);
	/* "METHOD SP target SP version CRLF" lines CRLF */
	want = strlen(method) + 1 + uri_len + 1 + strlen(version) + 2 + l.bytes + 2;
	return ci->header_size > want + l.n ? -1 : 0;
}

int
strict_request_ok(struct MHD_Connection *conn, const char *method,
    const char *version)
{
	int bad = url_nul;

	url_nul = 0;
	if (!bad)
		MHD_get_connection_values_n(conn,
		    MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, value_whole, &bad);
	if (!bad && header_whole(conn, method, version) != 0)
		bad = 1;
	return bad ? -1 : 0;
}

void *
strict_request_begin(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	url_nul = 0;
	uri_len = strlen(uri);
	return NULL;
}
