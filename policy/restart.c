/*
 * What a reload may not change. frontd reads the key file and the JWT
 * public key as root before its privilege drop and binds the metrics
 * listener then too; after the drop it can do neither again. Its HTTP
 * server is started once with [concurrency]'s connections,
 * connections-per-address and header-timeout. So a policy whose [auth],
 * [metrics] or those three keys differ (or [sandbox]'s isolation and
 * jail-seccomp: sockproxy reads the workers' profile once, at start; or
 * [store]: privd starts the store's client once) from the one in force is refused by
 * every daemon alike (the old one stays in force everywhere) and takes a
 * restart. Pure: no I/O.
 */
#include "policy.h"

#include <stdio.h>
#include <string.h>

int
policy_reload_ok(const struct policy *old, const struct policy *new,
    const char *fname, char *err, size_t errlen)
{
	const char *section = NULL;

	if (old->auth != new->auth ||
	    strcmp(old->keys_path, new->keys_path) != 0 ||
	    strcmp(old->jwt_key_path, new->jwt_key_path) != 0 ||
	    strcmp(old->jwt_issuer, new->jwt_issuer) != 0 ||
	    strcmp(old->jwt_audience, new->jwt_audience) != 0 ||
	    strcmp(old->jwt_alg, new->jwt_alg) != 0)
		section = "[auth]";
	else if (old->metrics != new->metrics ||
	    strcmp(old->metrics_listen, new->metrics_listen) != 0 ||
	    old->metrics_auth != new->metrics_auth)
		section = "[metrics]";
	else if (old->conn_max != new->conn_max ||
	    old->conn_per_address != new->conn_per_address ||
	    old->header_timeout_s != new->header_timeout_s)
		section = "[concurrency] connections, connections-per-address or "
		    "header-timeout";
	else if (old->isolation != new->isolation ||
	    strcmp(old->jail_seccomp, new->jail_seccomp) != 0)
		section = "[sandbox] isolation or jail-seccomp";
	else if (old->store_backend != new->store_backend ||
	    strcmp(old->s3_endpoint, new->s3_endpoint) != 0 ||
	    strcmp(old->s3_bucket, new->s3_bucket) != 0 ||
	    strcmp(old->s3_region, new->s3_region) != 0 ||
	    strcmp(old->s3_credentials, new->s3_credentials) != 0)
		section = "[store]";
	if (section == NULL)
		return 0;
	snprintf(err, errlen, "%s: %s differs from the policy in force: "
	    "a reload cannot change it, a restart is needed", fname, section);
	return -1;
}
