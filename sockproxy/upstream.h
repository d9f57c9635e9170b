/*
 * sockproxy's own HTTP/1.1 client to dockerd: one request per connection,
 * written whole by sockproxy (tmpl.c), the answer read with a deadline and,
 * for streams, while watching the client connection so that a client that
 * goes away ends the upstream call at once.
 */
#ifndef CW_SP_UPSTREAM_H
#define CW_SP_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sockproxy.h"

enum sp_up_err {
	SP_UP_ERROR = -1,	/* I/O or protocol error (see err) */
	SP_UP_TIMEOUT = -2,
	SP_UP_GONE = -3,	/* the watched client hung up or spoke */
};

struct sp_up {
	int		fd;
	int		watch;		/* client fd watched for hang-up, or -1 */
	uint64_t	deadline;	/* CLOCK_MONOTONIC ms */
	int		status;
	int		framing;
	int		chunk;		/* chunked decoder state */
	uint64_t	left;
	int		done;
	char		ctype[64];
	int		head_only;	/* a HEAD: the answer has no body */
	int		hijack;		/* 101 with Upgrade: tcp is the answer */
	char		pathstat[512];	/* X-Docker-Container-Path-Stat, or "" */
	unsigned char	buf[SP_UP_HEAD_MAX];
	size_t		off, len;
	char		err[160];
};

/* connect to the daemon's socket; 0 or -1 */
int	sp_up_open(struct sp_up *u, const char *path, uint64_t deadline);
void	sp_up_close(struct sp_up *u);
/* write all of p; 0 or an sp_up_err */
int	sp_up_write(struct sp_up *u, const void *p, size_t n);
/* read the status line and headers; 0 or an sp_up_err */
int	sp_up_head(struct sp_up *u);
/* body bytes, de-chunked: > 0, 0 at the end, or an sp_up_err */
ssize_t	sp_up_read(struct sp_up *u, unsigned char *out, size_t max);
/* the whole body into b (its max is the cap); 0 or an sp_up_err */
int	sp_up_body(struct sp_up *u, struct sp_buf *b);

/*
 * One short call: send req (head and body together), read the answer body
 * into ans. *status gets the HTTP status. 0 or an sp_up_err (err in errbuf).
 */
int	sp_up_call(const char *path, const struct sp_buf *req, struct sp_buf *ans,
	    int *status, uint64_t timeout_ms, char *errbuf, size_t errlen);

#endif
