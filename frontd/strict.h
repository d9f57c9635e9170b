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

#include <cjson/cJSON.h>
#include <microhttpd.h>

/* the body as one JSON value and nothing but whitespace after it; NULL with why */
cJSON	*strict_json_parse(const char *body, size_t len, const char **why);
/*
 * libmicrohttpd's unescape callback (MHD_OPTION_UNESCAPE_CALLBACK) for the
 * path and query: MHD_http_unescape(), noting a %00 for this thread's
 * request, which strict_request_ok() then refuses.
 */
size_t	strict_unescape(void *cls, struct MHD_Connection *conn, char *s);
/* every header and query argument whole, the path without %00; 0 or -1 */
int	strict_request_ok(struct MHD_Connection *conn);
/*
 * libmicrohttpd's MHD_OPTION_URI_LOG_CALLBACK: a request line has arrived
 * (before its path is unescaped), so no %00 is noted yet. Returns NULL,
 * the request's state until the handler makes one.
 */
void	*strict_request_begin(void *cls, const char *uri, struct MHD_Connection *conn);

#endif
