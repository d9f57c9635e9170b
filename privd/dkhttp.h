/*
 * privd's HTTP/1.1 client for sockproxy's unix socket: one request per
 * connection, written from privd's own calls, and a strict reader for the
 * answers sockproxy writes (status line, then Content-Length or chunked
 * framing, Connection: close). Replaces libcurl, whose dependency chain
 * (TLS, LDAP, SSH, Kerberos libraries) the privileged process never needs.
 * The reader is incremental so the fuzzer can feed it any split.
 */
#ifndef CW_DKHTTP_H
#define CW_DKHTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DKH_HEAD_MAX	8192

#define DKH_STAT_MAX	128
#define DKH_GEN_MAX	33	/* X-Codeward-Generation: [0-9a-f]{1,32} */

/* the answer's head */
struct dkh_head {
	int		status;
	int		chunked;
	int		have_length;
	uint64_t	length;
	char		stat[DKH_STAT_MAX];	/* X-Codeward-Stat, or "" */
	char		gen[DKH_GEN_MAX];	/* X-Codeward-Generation, or "" */
};

/*
 * Parse a complete head ("...\r\n\r\n" included, len bytes). 0, or -1 when
 * it is not one sockproxy would write.
 */
int	dkh_parse_head(const char *buf, size_t len, struct dkh_head *h);

/* the body decoder: Content-Length or chunked */
typedef int (*dkh_sink)(void *ctx, const char *p, size_t n);

struct dkh_body {
	int		chunked;
	int		state;
	uint64_t	left;		/* of the body, or of the chunk */
	char		line[24];	/* a chunk-size line */
	size_t		linelen;
	int		refused;	/* the sink said no (not a framing error) */
};

void	dkh_body_init(struct dkh_body *b, const struct dkh_head *h);
/* feed n bytes; -1 on a framing error or when the sink refuses */
int	dkh_body_feed(struct dkh_body *b, const char *p, size_t n, dkh_sink sink,
	    void *ctx);
int	dkh_body_done(const struct dkh_body *b);

/* a request body produced on demand: returns bytes, 0 at end, -1 error */
typedef ssize_t (*dkh_source)(void *ctx, char *p, size_t n);

struct dkh_req {
	const char	*method;
	const char	*path;		/* "/v1.41/..." */
	const char	*ctype;		/* NULL: no body */
	const char	*body;		/* a fixed body of body_len bytes ... */
	size_t		body_len;
	dkh_source	source;		/* ... or one of source_len bytes */
	void		*source_ctx;
	uint64_t	source_len;
	char		*stat_out;	/* DKH_STAT_MAX bytes: X-Codeward-Stat */
};

enum dkh_err {
	DKH_OK = 0,
	DKH_ERR_CONNECT = -1,
	DKH_ERR_IO = -2,
	DKH_ERR_TIMEOUT = -3,
	DKH_ERR_PROTOCOL = -4,
	DKH_ERR_SINK = -5,		/* the sink refused more */
	DKH_ERR_SOURCE = -6,
	DKH_ERR_CANCELLED = -7,		/* the cancel descriptor became readable */
};

/*
 * Send req to the unix socket at 'sock' and deliver the body to sink, all
 * before the CLOCK_MONOTONIC deadline (ms). Returns DKH_OK with *status set,
 * or a negative enum dkh_err.
 */
int	dkh_call(const char *sock, const struct dkh_req *req, uint64_t deadline_ms,
	    int *status, dkh_sink sink, void *ctx);
/*
 * The same, ended early (DKH_ERR_CANCELLED) within DKH_CANCEL_MS of *cancel
 * becoming non-zero (NULL: never). A flag, not a descriptor: privd's filter
 * allows no pipe or eventfd.
 */
#define DKH_CANCEL_MS	20
int	dkh_call_cancel(const char *sock, const struct dkh_req *req,
	    uint64_t deadline_ms, atomic_int *cancel, int *status, dkh_sink sink,
	    void *ctx);

/*
 * A hijacked POST to path (sockproxy's channel start): on sockproxy's 101
 * to "Upgrade: codeward-channel", DKH_OK with the connected socket in *fd
 * and the bytes that came after the head (at most DKH_HEAD_MAX) in left,
 * *nleft of them; else a negative enum dkh_err, *status the answer's.
 */
int	dkh_upgrade(const char *sock, const char *path, uint64_t deadline_ms,
	    int *fd, int *status, char *left, size_t *nleft);

/*
 * sockproxy as privd last saw it. Every answer states sockproxy's
 * generation; a call that could not connect, or that sockproxy answered
 * with the engine unreachable (dkh_peer_doubt), leaves doubt. A new
 * generation, or an answer after doubt, bumps the epoch: privd's view of its
 * sandboxes must then be rebuilt from what sockproxy reports (resync.c).
 */
void	dkh_peer_doubt(void);
/* resync now: a call found the engine changed under privd (a stale sandbox) */
void	dkh_peer_bump(const char *why);
/* the epoch now */
uint32_t dkh_peer_epoch(void);
/* wait until the epoch differs from 'seen', at most ms: the epoch then */
uint32_t dkh_peer_wait(uint32_t seen, uint64_t ms);

#endif
