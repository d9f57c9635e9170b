/*
 * Authentication in frontd. API keys: the key file holds only
 * crypto_generichash digests (hex, one per line); a presented key is hashed
 * and compared with every stored digest with crypto_verify_32, so neither
 * its length nor its content leaks through timing. Keys are wiped after use
 * and never logged.
 */
#ifndef CW_AUTH_H
#define CW_AUTH_H

#include <stddef.h>

#include "policy.h"

#define AUTH_KEY_MAX		256	/* longest key accepted */
#define AUTH_HASH_LEN		32
#define AUTH_KEYS_MAX		256
#define AUTH_USER_MAX		64

enum auth_result { AUTH_OK, AUTH_FAIL, AUTH_MISSING };

/* load the key file; before the privilege drop. 0 or -1 (err set). */
int	auth_load_keys(const char *path, char *err, size_t errlen);
void	auth_init(const struct policy *p);

/*
 * Check a request's credentials: the X-API-Key header value, or the
 * Authorization header value ("Bearer <key>"). NULL for an absent header.
 * On AUTH_OK, user receives the authenticated user id ("" for API keys).
 */
enum auth_result auth_check(const char *x_api_key, const char *authorization,
	    char *user, size_t userlen);

/* hash a key into 64 hex characters + NUL; for the keytool */
int	auth_hash_hex(const char *key, size_t len, char out[65]);

#endif
