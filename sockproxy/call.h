/*
 * Calling dockerd for one client request: a short call from a template, the
 * answer when the daemon did not do it, removing a container, the inspect
 * that compares a container with its create (rule 7), and opening a stream.
 * Every request head comes from sp_tmpl_call.
 */
#ifndef CW_SP_CALL_H
#define CW_SP_CALL_H

#include "conn.h"
#include "upstream.h"

/*
 * One short call: the HTTP status, or -1 with c->uperr set. The answer
 * lands in ans.
 */
int	sp_call(struct sp_conn *c, enum sp_call k, const char *arg,
	    const char *body, size_t blen, struct sp_buf *ans);
/* the daemon did not do it: tell the client, log why */
void	sp_call_failed(struct sp_conn *c, int status, const struct sp_buf *ans,
	    const char *what);
/* remove container id with its volumes and forget it; 0 or -1 (logged) */
int	sp_call_remove(struct sp_conn *c, const char *id);
/* inspect container id and compare it with cr; 0 or -1 (why) */
int	sp_call_verify(struct sp_conn *c, const char *id,
	    const struct sp_create *cr, char *why, size_t wlen);
/*
 * Open a streaming call: send the request (body, when not NULL, is JSON),
 * read the head. 0 when the daemon answered 200 with content type ctype
 * (up is then open), else the client has been answered and up is closed.
 */
int	sp_call_stream(struct sp_conn *c, struct sp_up *up, enum sp_call k,
	    const char *arg, const char *body, const char *ctype, uint64_t ms,
	    const char *what);

#endif
