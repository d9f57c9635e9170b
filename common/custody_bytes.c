#include "custody_bytes.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"

#define BODY_MAX	512
#define BYTES_MAX	768

static char	error_body[BODY_MAX], late_body[BODY_MAX];
static char	held[BYTES_MAX], spaces_chunked[BYTES_MAX];
static size_t	held_len, chunked_len;
static int	ready;

/* snprintf that reports truncation; the length written, or -1 */
static int
put(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
put(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -1;
	if (len != NULL)
		*len = (size_t)n;
	return 0;
}

int
custody_init(void)
{
	char line[BODY_MAX];
	size_t elen, llen;

	if (ready)
		return 0;
	/* frontd/reply.c's reply_error and reply_late, for this one message */
	if (put(error_body, sizeof(error_body), &elen,
	    "{\"error\":\"%s\",\"message\":\"%s\"}", CUSTODY_ERROR,
	    CUSTODY_MESSAGE) != 0 ||
	    put(line, sizeof(line), NULL, CUSTODY_LATE_FMT, CUSTODY_STATUS,
	    CUSTODY_MESSAGE) != 0 ||
	    put(late_body, sizeof(late_body), &llen,
	    "{\"error\":\"%s\",\"message\":\"%s\",\"status\":%u,\"stdout\":\"\","
	    "\"stderr\":\"%s\",\"files\":[]}", CUSTODY_ERROR,
	    line + strlen(CUSTODY_LATE_TAG), CUSTODY_STATUS, line) != 0)
		return -1;
	if (put(held, sizeof(held), &held_len,
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "Retry-After: 1\r\n"
	    "\r\n%s", elen, error_body) != 0 ||
	    put(spaces_chunked, sizeof(spaces_chunked), &chunked_len,
	    "%zx\r\n%s\r\n0\r\n\r\n", llen, late_body) != 0)
		return -1;
	ready = 1;
	return 0;
}

const char *
custody_bytes(uint32_t state, uint32_t mode, size_t *len)
{
	*len = 0;
	if (!ready)
		return NULL;
	if (state == IPC_CONN_HELD) {
		*len = held_len;
		return held;
	}
	if (state == IPC_CONN_SPACES && mode == IPC_CONN_CHUNKED) {
		*len = chunked_len;
		return spaces_chunked;
	}
	if (state == IPC_CONN_SPACES && mode == IPC_CONN_CLOSE) {
		*len = strlen(late_body);
		return late_body;
	}
	return NULL;
}

const char *
custody_error_body(void)
{
	return error_body;
}

const char *
custody_late_body(void)
{
	return late_body;
}
