/*
 * Nothing a C string would cut short gets through: a NUL in a JSON string or
 * key (an exec body, a JWT), in a header, in a query argument or in the
 * path, and bytes after a JSON value, are each refused (issue 14:
 * "print(1)\u0000print(2)" ran as "print(1)", "lang\u0000" counted as
 * "lang", /download/S/F%00 served F).
 */
#ifndef CW_STRICT_H
#define CW_STRICT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

/* the body as one JSON value and nothing but whitespace after it; NULL with why */
cJSON	*strict_json_parse(const char *body, size_t len, const char **why);
/*
 * A known field of an object and the JSON types it may take (cJSON's type
 * bits, cJSON_String | cJSON_NULL, ...). A field that is absent passes, as
 * does every field the table does not name (a client's own extras).
 */
struct strict_field {
	const char	*key;
	int		types;
};
/* 0, or -1 with the first field of another type in *bad */
int	strict_types(const cJSON *obj, const struct strict_field *f, size_t n,
	    const char **bad);
/*
 * 1 when the request announces a body (Content-Length) so far over max
 * that it is refused before a byte of it is read. One a little over (up
 * to STRICT_DRAIN_MAX more) is read and dropped instead, so that a client
 * still sending can read its 413.
 */
#define STRICT_DRAIN_MAX	(16 * 1024 * 1024)
int	strict_length_over(struct MHD_Connection *conn, uint64_t max);
/*
 * libmicrohttpd's unescape callback (MHD_OPTION_UNESCAPE_CALLBACK) for the
 * path and query: MHD_http_unescape(), noting a %00 for this thread's
 * request, which strict_request_ok() then refuses.
 */
size_t	strict_unescape(void *cls, struct MHD_Connection *conn, char *s);
/*
 * every header and query argument whole (no NUL, none cut at a raw NUL:
 * the header's length adds up), the path without %00; 0 or -1
 */
int	strict_request_ok(struct MHD_Connection *conn, const char *method,
	    const char *version);
/*
 * libmicrohttpd's MHD_OPTION_URI_LOG_CALLBACK: a request line has arrived
 * (before its path is unescaped), so no %00 is noted yet. Returns NULL,
 * the request's state until the handler makes one.
 */
void	*strict_request_begin(void *cls, const char *uri, struct MHD_Connection *conn);

#endif
