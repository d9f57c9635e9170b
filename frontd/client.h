/*
 * The client of an HTTP request, as the failed-auth limit counts it: the
 * peer's address, or behind one of the policy's trusted proxies the one its
 * X-Forwarded-For names (limit.h, limit_client).
 */
#ifndef CW_CLIENT_H
#define CW_CLIENT_H

#include <microhttpd.h>

#include "auth.h"
#include "policy.h"
#include "reply.h"

/* 0, or -1 when the peer has no IP address (one shared budget then) */
int	client_of(struct MHD_Connection *conn, const struct policy *p,
	    struct policy_net *client);

/*
 * The auth hook: the request's credentials checked (auth_request), the user
 * they name into user; 401 or 429 into r unless they are good.
 */
enum auth_result client_authenticate(struct MHD_Connection *conn, char *user,
	    size_t userlen, struct reply *r);

#endif
