/*
 * What a route answers: a status and a JSON body (or a file to stream).
 * http.c turns it into a libmicrohttpd response.
 */
#ifndef CW_REPLY_H
#define CW_REPLY_H

#include <stddef.h>
#include <stdint.h>

struct reply {
	unsigned int	status;
	char		*body;		/* malloc'd; JSON unless ctype says */
	size_t		len;
	const char	*ctype;		/* NULL: application/json */
	int		file_fd;	/* >= 0: stream this file instead */
	uint64_t	file_size;
	char		file_ctype[80];
	char		disposition[1024];
	char		retry_after[16];
	int		logged;		/* its refusal is logged already (auth) */
};

void	reply_init(struct reply *r);
/* {"error":code,"message":message} */
void	reply_error(struct reply *r, unsigned int status, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * 429 {"error":"rate_limited","message":message,"retry_after_seconds":N}
 * with Retry-After: N. CONTRACT: LibreChat reads both.
 */
void	reply_rate_limited(struct reply *r, unsigned int retry_s,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * An execution's answer that comes after its 200 went out (http.c's
 * keep-alive spaces): a failure can no longer change the status, so its
 * error body becomes one LibreChat's client shows as a failure. It prints
 * "stdout" and "stderr" of a 200 and nothing else: the error goes into
 * "stderr" as a "[codeward] ..." line, "stdout" is empty, "files" empty,
 * and "error", "message" and "status" (the status it would have had) stay
 * for other clients. A 200 is left as it is. Out of memory, the body is
 * REPLY_LATE_FALLBACK's copy (NULL only if even that copy fails).
 */
void	reply_late(struct reply *r);
#define REPLY_LATE_FALLBACK	"{\"error\":\"unavailable\",\"message\":\"out of " \
	"memory\",\"status\":503,\"stdout\":\"\",\"stderr\":\"[codeward] the run " \
	"failed after it began: out of memory\",\"files\":[]}"
/* take ownership of a cJSON-printed body; NULL (out of memory) is a 503 */
void	reply_json(struct reply *r, unsigned int status, char *body);

#endif
