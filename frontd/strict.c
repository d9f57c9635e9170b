/*
 * The C-string checks of strict.h. libmicrohttpd hands headers, the path and
 * query arguments over as C strings, cJSON its strings likewise: each is
 * refused when its length as sent differs from its length as a C string.
 */
#include "strict.h"

#include <string.h>

/*
 * The request this thread serves decoded a %00 in its path or query
 * (libmicrohttpd runs one thread per connection, and parses the request
 * line in it, after strict_request_begin() and before the first call of
 * the handler).
 */
static __thread int url_nul;

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

int
strict_request_ok(struct MHD_Connection *conn)
{
	int bad = url_nul;

	url_nul = 0;
	if (!bad)
		MHD_get_connection_values_n(conn,
		    MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, value_whole, &bad);
	return bad ? -1 : 0;
}

void *
strict_request_begin(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)uri;
	(void)conn;
	url_nul = 0;
	return NULL;
}
