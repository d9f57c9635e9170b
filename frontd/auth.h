/*
 * Authentication in frontd, by the policy's [auth] mode.
 *
 * API keys: the key file holds only crypto_generichash digests (hex, one
 * per line); a presented key is hashed and compared with every stored digest
 * with crypto_verify_32, so neither its length nor its content leaks through
 * timing. Digests are wiped after use; keys are never logged.
 *
 * JWTs (LibreChat's Code API tokens): jwt.h, verified with the Ed25519
 * public key the policy names; the token's sub becomes the user id.
 *
 * Which credential is read:
 *   api-key      X-API-Key, else "Authorization: Bearer <key>"
 *   jwt          "Authorization: Bearer <JWT>" only
 *   api-key+jwt  X-API-Key; else a Bearer value with a '.' is a JWT, one
 *                without is a key
 *   none         nothing (logged loudly at every start)
 *
 * Failed attempts are counted (auth_counters) and limited per client address
 * (limit.h; behind a trusted proxy, the address X-Forwarded-For names): the
 * credential is checked first, a valid one always passes, and only a failing
 * one from an address over its budget gets AUTH_LIMITED.
 */
#ifndef CW_AUTH_H
#define CW_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy.h"

#define AUTH_KEY_MAX		256	/* longest key accepted */
#define AUTH_HASH_LEN		32
#define AUTH_KEYS_MAX		256
#define AUTH_USER_MAX		64

enum auth_result { AUTH_OK, AUTH_FAIL, AUTH_MISSING, AUTH_LIMITED };

/* what the metrics export: every answer auth_request gave */
struct auth_counters {
	uint64_t	ok;
	uint64_t	failed;		/* wrong key or refused token: 401 */
	uint64_t	missing;	/* no credential at all: 401 */
	uint64_t	limited;	/* refused unread: 429 */
};

/* load the key file; before the privilege drop. 0 or -1 (err set). */
int	auth_load_keys(const char *path, char *err, size_t errlen);
/* load the JWT public key (jwt_parse_pem); before the drop. 0 or -1. */
int	auth_load_jwt_key(const char *path, char *err, size_t errlen);
void	auth_init(const struct policy *p);

/*
 * Check a request's credentials at time now (seconds): the X-API-Key header
 * value and the Authorization header value, NULL when absent. On AUTH_OK,
 * user receives the authenticated user id (a JWT's sub; "" for API keys).
 * On a failure *why says why, in fixed words (never credential bytes).
 */
enum auth_result auth_check(const char *x_api_key, const char *authorization,
	    int64_t now, char *user, size_t userlen, const char **why);

/*
 * The HTTP hook: auth_check, then for a failed credential the limit of the
 * client address (limit_client; NULL: unknown, one shared budget), then the
 * counters. On AUTH_LIMITED *retry_after holds the seconds to wait.
 */
enum auth_result auth_request(const struct policy_net *client,
	    const char *x_api_key, const char *authorization, char *user,
	    size_t userlen, unsigned int *retry_after);

void	auth_counters(struct auth_counters *out);

/* hash a key into 64 hex characters + NUL; for the keytool */
int	auth_hash_hex(const char *key, size_t len, char out[65]);

#endif
