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
/* take ownership of a cJSON-printed body; NULL (out of memory) is a 503 */
void	reply_json(struct reply *r, unsigned int status, char *body);

#endif
