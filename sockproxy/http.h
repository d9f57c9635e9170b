/*
 * The client grammar (rules 2-4 of sockproxy/README.md) and the route table:
 * the only requests sockproxy serves. One request per connection:
 *
 *	METHOD SP /v1.41/<route> SP HTTP/1.1 CRLF
 *	(Host: docker | Content-Type: <type> | Content-Length: <digits>) CRLF ...
 *	CRLF
 *	[body of exactly Content-Length bytes]
 *
 * CRLF only; header names in exactly that spelling, each at most once, with
 * one space after the colon; no other header (Transfer-Encoding, Expect,
 * Connection, Upgrade, ...), no obs-fold; the target is the origin form with
 * the byte-exact /v1.41/ prefix, characters [A-Za-z0-9/_.=?-] only (no '%'),
 * no empty, "." or ".." segment; a query only where the route names it, byte
 * for byte. Parsing is pure (no I/O) so the fuzzer drives it directly.
 */
#ifndef CW_SP_HTTP_H
#define CW_SP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "sockproxy.h"

enum sp_method { SP_M_GET = 1, SP_M_POST, SP_M_PUT, SP_M_DELETE, SP_M_HEAD };
enum sp_ctype { SP_CT_NONE, SP_CT_JSON, SP_CT_TAR };
enum sp_body { SP_BODY_NONE, SP_BODY_JSON, SP_BODY_TAR };

enum sp_op {
	SP_OP_CREATE, SP_OP_START, SP_OP_PUT_ARCHIVE, SP_OP_GET_ARCHIVE,
	SP_OP_EXEC_CREATE, SP_OP_EXEC_START, SP_OP_EXEC_INSPECT, SP_OP_KILL,
	SP_OP_REMOVE, SP_OP_WAIT, SP_OP_LIST, SP_OP_STAT_ARCHIVE, SP_OP_STATS,
	SP_OP_CHANNEL_CREATE, SP_OP_CHANNEL_CREATE_JAIL, SP_OP_CHANNEL_START,
	SP_OP_COUNT
};

struct sp_route {
	enum sp_method	method;
	const char	*tmpl;		/* "{id}" stands for [0-9a-f]{64} */
	enum sp_op	op;
	enum sp_body	body;
};

#define SP_TARGET_MAX	200

struct sp_req {
	enum sp_method		method;
	const struct sp_route	*route;
	char			id[SP_ID_LEN + 1];
	enum sp_ctype		ctype;
	int			has_clen;
	uint64_t		clen;
	size_t			head_len;
	char			target[SP_TARGET_MAX + 1];
};

extern const struct sp_route sp_routes[];
extern const size_t sp_nroutes;

/*
 * Where the head ends: 1 with *end = its length (through CRLF CRLF), 0 when
 * more bytes are needed, -1 on a bare CR or LF (framing refused at once).
 */
int	sp_http_head_end(const char *buf, size_t len, size_t *end);

/*
 * Parse a complete head of len bytes. Returns 0, or the 4xx status to answer
 * with *why set.
 */
int	sp_http_parse(const char *buf, size_t len, struct sp_req *r,
	    const char **why);

const char *sp_method_name(enum sp_method m);
const char *sp_status_text(int status);

#endif
