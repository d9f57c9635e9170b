/*
 * The client connection: reading privd's request, and every byte sockproxy
 * writes back to it: plain replies, refusals (logged, counted by refusal.c,
 * answered {"message":...}), and the chunked body of a streamed answer.
 * Nothing here talks to dockerd.
 */
#ifndef CW_SP_CONN_H
#define CW_SP_CONN_H

#include <stddef.h>
#include <sys/types.h>

#include "http.h"
#include "json.h"
#include "tmpl.h"

#define SP_CHUNK_MAX	16384	/* one chunk of a streamed answer */

struct sp_conn {
	int			fd;
	const struct sp_conf	*conf;
	struct sp_req		req;
	char			head[SP_HEAD_MAX];
	size_t			have;		/* bytes in head[], body start included */
	char			line[200];	/* the request line, escaped, for logs */
	char			uperr[160];	/* why the last upstream call failed */
};

/* > 0 bytes, 0 at EOF, -1 error, -2 timeout */
ssize_t	sp_conn_read(struct sp_conn *c, void *buf, size_t len,
	    uint64_t deadline);
/* all of p within the write deadline; 0 or -1 */
int	sp_conn_write(struct sp_conn *c, const void *p, size_t n);
/* a byte waiting after the request: pipelining, refused */
int	sp_conn_more(struct sp_conn *c);
/* c->line from the head read so far */
void	sp_conn_set_line(struct sp_conn *c);

/*
 * This process's generation ([0-9a-f]{32}), stated on every answer it writes
 * as X-Codeward-Generation, so privd sees a restart on its next call. Set
 * once at start-up, before the first connection.
 */
#define SP_GEN_LEN	32
void	sp_conn_set_generation(const char *gen);

/* a whole answer: status, and for all but 204 a JSON body */
void	sp_conn_reply(struct sp_conn *c, int status, const char *body,
	    size_t len);
/* 201 {"Id":"<id>"}: what a create answers */
void	sp_conn_reply_id(struct sp_conn *c, const char *id);
/* a refusal: logged, counted under the status's class, answered */
void	sp_conn_refuse(struct sp_conn *c, int status, const char *fmt, ...)
	    CW_PRINTF(3, 4);
/* a refusal whose class the status does not tell: the daemon's own */
void	sp_conn_refuse_as(struct sp_conn *c, int status, unsigned int klass,
	    const char *fmt, ...) CW_PRINTF(4, 5);

/* the JSON body, read whole (exactly Content-Length) and parsed; or refused */
struct sp_json *sp_conn_json(struct sp_conn *c);

/* a streamed answer: the head, then chunks, then the final chunk */
int	sp_conn_stream_head(struct sp_conn *c, const char *ctype);
int	sp_conn_chunk_end(struct sp_conn *c);
/* 101 to privd: the connection is the agent's channel from here (chan.h) */
int	sp_conn_upgrade_head(struct sp_conn *c);
/* a relay of upstream bytes to the client, for the tar and mux callbacks */
struct sp_relay {
	struct sp_conn	*c;
	int		failed;		/* the client stopped reading */
};
/* bytes as they are, in chunks (an sp_tar_out) */
int	sp_conn_relay_bytes(void *relay, const unsigned char *p, size_t n);
/* stream frames, each behind a frame header sockproxy writes (an sp_mux_out) */
int	sp_conn_relay_frame(void *relay, int type, const unsigned char *p,
	    size_t n);

#endif
