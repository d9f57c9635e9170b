#include "client.h"

#include <strings.h>

#include "current.h"
#include "limit.h"
#include "reply.h"

/* counts the X-Forwarded-For headers of a request */
static enum MHD_Result
count_xff(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	(void)value;
	if (key != NULL && strcasecmp(key, "X-Forwarded-For") == 0)
		(*(size_t *)cls)++;
	return MHD_YES;
}

int
client_of(struct MHD_Connection *conn, const struct policy *p,
    struct policy_net *client)
{
	const union MHD_ConnectionInfo *ci;
	struct policy_net peer;
	size_t nxff = 0;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (limit_peer_net(ci != NULL ? ci->client_addr : NULL, &peer) != 0)
		return -1;
	/* more than one header: limit_client reads none of them */
	(void)MHD_get_connection_values(conn, MHD_HEADER_KIND, count_xff, &nxff);
	limit_client(&peer, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "X-Forwarded-For"), nxff, p->proxies, p->nproxies, client);
	return 0;
}

enum auth_result
client_authenticate(struct MHD_Connection *conn, char *user, size_t userlen,
    struct reply *r)
{
	struct policy_net client;
	enum auth_result a;
	unsigned int retry = 0;
	int known = client_of(conn, current_policy(), &client) == 0;

	a = auth_request(known ? &client : NULL,
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-API-Key"),
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION), user, userlen, &retry);
	/* auth_request logs its refusals itself, rate-limited per address */
	r->logged = a != AUTH_OK;
	switch (a) {
	case AUTH_OK:
		break;
	case AUTH_LIMITED:
		reply_rate_limited(r, retry,
		    "too many failed authentication attempts from this address");
		break;
	case AUTH_MISSING:
		reply_error(r, 401, "unauthorized", "an API key or token is required");
		break;
	default:
		reply_error(r, 401, "unauthorized", "the API key or token is not valid");
		break;
	}
	return a;
}
