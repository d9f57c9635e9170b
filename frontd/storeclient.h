/*
 * frontd's side of storeproxy's socketpair (storeproxy/proto.h): one
 * request, one reply, under one lock, in the order asked. The socketpair is
 * privd's gift at frontd's start (STORE_FD) under [store] backend s3; a
 * closed peer stops frontd, a violation ends it (privd and the supervisor
 * start the three again: SECURITY.md, "The S3 store").
 */
#ifndef CW_STORECLIENT_H
#define CW_STORECLIENT_H

#include <stdint.h>

#include "ipc.h"
#include "proto.h"

/*
 * 0, or -1 when fd is not a SOCK_SEQPACKET socket. lost() is called once,
 * from the request that finds storeproxy gone (its end of file): that
 * request and every later one fail S3_UNREACHABLE, and frontd is to stop
 * (its in-flight requests answered), for the supervisor to start the three
 * again. A reply out of shape ends frontd at once.
 */
int	sc_init(int fd, void (*lost)(void));
int	sc_on(void);
/*
 * One request: q's type, key and meta filled by the caller (the header is
 * written here); in_fd (-1: none) goes with it. The reply's status is the
 * return value (enum s3_status); *out_fd gets its descriptor (-1: none).
 */
enum s3_status	sc_call(struct sp_request *q, int in_fd, struct sp_reply *rep,
		    int *out_fd);

#endif
