/*
 * The bytes privd writes to a connection frontd held unanswered when frontd
 * died (privd/custody.c): built once at start-up from constants, never from
 * anything frontd or a client sent, and the same shapes frontd's own
 * answers have (frontd/reply.c; tests/frontd/test_custody.c holds the two
 * to the same bytes).
 */
#ifndef CW_CUSTODY_BYTES_H
#define CW_CUSTODY_BYTES_H

#include <stddef.h>
#include <stdint.h>

#define CUSTODY_STATUS	503
#define CUSTODY_ERROR	"unavailable"
#define CUSTODY_MESSAGE	"the HTTP daemon ended before the answer; retry the request"
/*
 * A late failure's stderr line (frontd/reply.c's reply_late too): the
 * status the answer would have had, and its message.
 */
#define CUSTODY_LATE_FMT	"[codeward] no result (HTTP %u): %s"
#define CUSTODY_LATE_TAG	"[codeward] "	/* what "message" leaves out */

/* build the bytes; 0, or -1 if they do not fit (a build error, really) */
int		custody_init(void);
/*
 * What to write for a connection in state (enum ipc_conn_step) whose late
 * answer is framed as mode (enum ipc_conn_framing): NULL (*len 0) when nothing
 * may be written (a real answer is under way).
 *	HELD:		a whole 503 with Connection: close
 *	SPACES:		the late failure's JSON, as one chunk and the last
 *			chunk (CHUNKED), or as it is (CLOSE)
 */
const char	*custody_bytes(uint32_t state, uint32_t mode, size_t *len);
/* the two JSON bodies, for the tests */
const char	*custody_error_body(void);
const char	*custody_late_body(void);

#endif
