#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jwt.h"
#include "limit.h"
#include "log.h"
#include "util.h"

/* a fixed context so a digest of this file is useless anywhere else */
static const unsigned char hash_key[crypto_generichash_KEYBYTES] =
    "codeward api key digest v1.....";

static unsigned char	keys[AUTH_KEYS_MAX][AUTH_HASH_LEN];
static size_t		nkeys;
static enum policy_auth	mode;
static struct jwt_config jwt;
static int		jwt_loaded;

static _Atomic uint64_t	n_ok, n_failed, n_missing, n_limited;

void
auth_init(const struct policy *p)
{
	mode = p->auth;
	jwt.alg = p->jwt_alg;
	jwt.issuer = p->jwt_issuer;
	jwt.audience = p->jwt_audience;
	limit_init();
}

static int
hash_key_bytes(const char *key, size_t len, unsigned char out[AUTH_HASH_LEN])
{
	return crypto_generichash(out, AUTH_HASH_LEN, (const unsigned char *)key,
	    len, hash_key, sizeof(hash_key));
}

int
auth_hash_hex(const char *key, size_t len, char out[65])
{
	unsigned char h[AUTH_HASH_LEN];

	if (len == 0 || len > AUTH_KEY_MAX || hash_key_bytes(key, len, h) != 0)
		return -1;
	sodium_bin2hex(out, 65, h, sizeof(h));
	sodium_memzero(h, sizeof(h));
	return 0;
}

int
auth_load_keys(const char *path, char *err, size_t errlen)
{
	size_t len, lineno = 0;
	char *buf, *line, *save = NULL;

	nkeys = 0;
	if ((buf = cw_read_file(path, 1 << 20, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t bin_len;

		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		if (nkeys == AUTH_KEYS_MAX) {
			snprintf(err, errlen, "%s: more than %d keys", path, AUTH_KEYS_MAX);
			goto bad;
		}
		if (strlen(line) != 2 * AUTH_HASH_LEN ||
		    sodium_hex2bin(keys[nkeys], AUTH_HASH_LEN, line, strlen(line),
		    NULL, &bin_len, NULL) != 0 || bin_len != AUTH_HASH_LEN) {
			snprintf(err, errlen, "%s:%zu: not a key digest (64 hex)", path, lineno);
			goto bad;
		}
		nkeys++;
	}
	sodium_memzero(buf, len);
	free(buf);
	return 0;
bad:
	sodium_memzero(buf, len);
	free(buf);
	return -1;
}

int
auth_load_jwt_key(const char *path, char *err, size_t errlen)
{
	const char *why;
	size_t len;
	char *buf;
	int r;

	if ((buf = cw_read_file(path, JWT_PEM_MAX, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = jwt_parse_pem(buf, len, jwt.pk, &why);
	if (r != 0)
		snprintf(err, errlen, "%s: not an Ed25519 public key in PEM: %s",
		    path, why);
	else
		jwt_loaded = 1;
	free(buf);
	return r;
}

static enum auth_result
check_key(const char *key, const char **why)
{
	unsigned char h[AUTH_HASH_LEN];
	size_t len = strnlen(key, AUTH_KEY_MAX + 1), i;
	int match = 0;

	if (len == 0 || len > AUTH_KEY_MAX)
		return *why = "API key of a wrong length", AUTH_FAIL;
	if (hash_key_bytes(key, len, h) != 0)
		return *why = "API key cannot be hashed", AUTH_FAIL;
	/* every digest is compared: the time does not depend on which matched */
	for (i = 0; i < nkeys; i++)
		match |= crypto_verify_32(h, keys[i]) == 0;
	sodium_memzero(h, sizeof(h));
	if (!match)
		return *why = "wrong API key", AUTH_FAIL;
	return AUTH_OK;
}

static enum auth_result
check_jwt(const char *token, int64_t now, char *user, size_t userlen,
    const char **why)
{
	size_t len = strnlen(token, JWT_TOKEN_MAX + 1);

	if (!jwt_loaded)
		return *why = "no JWT key loaded", AUTH_FAIL;
	if (jwt_verify(&jwt, token, len, now, user, userlen, why) != 0)
		return AUTH_FAIL;
	return AUTH_OK;
}

enum auth_result
auth_check(const char *x_api_key, const char *authorization, int64_t now,
    char *user, size_t userlen, const char **why)
{
	const char *bearer = NULL;
	int keys_on = mode == AUTH_API_KEY || mode == AUTH_API_KEY_JWT;
	int jwt_on = mode == AUTH_JWT || mode == AUTH_API_KEY_JWT;

	*why = "ok";
	if (userlen > 0)
		user[0] = '\0';
	if (mode == AUTH_NONE)
		return AUTH_OK;
	if (authorization != NULL && strncasecmp(authorization, "Bearer ", 7) == 0) {
		bearer = authorization + 7;
		while (*bearer == ' ')
			bearer++;
	}
	if (keys_on && x_api_key != NULL)
		return check_key(x_api_key, why);
	if (bearer == NULL) {
		if (authorization != NULL)
			return *why = "Authorization is not Bearer", AUTH_FAIL;
		if (x_api_key != NULL)
			return *why = "API keys are not accepted", AUTH_FAIL;
		return *why = "no credential", AUTH_MISSING;
	}
	if (jwt_on && (!keys_on || strchr(bearer, '.') != NULL))
		return check_jwt(bearer, now, user, userlen, why);
	if (keys_on)
		return check_key(bearer, why);
	return *why = "no accepted credential", AUTH_FAIL;
}

/*
 * The credential first (in constant time, as auth_check), the limit after:
 * a valid credential is answered whatever its address did, so behind one
 * proxy others' failures never refuse it; a failing one from a client over
 * its budget is 429, else it spends one failure of the budget and is 401.
 */
enum auth_result
auth_request(const struct policy_net *client, const char *x_api_key,
    const char *authorization, char *user, size_t userlen,
    unsigned int *retry_after)
{
	struct limit_addr a;
	enum auth_result r;
	const char *why;
	char addr[64] = "?";

	*retry_after = 0;
	if (userlen > 0)
		user[0] = '\0';
	if (mode == AUTH_NONE) {
		atomic_fetch_add(&n_ok, 1);
		return AUTH_OK;
	}
	r = auth_check(x_api_key, authorization, (int64_t)time(NULL), user,
	    userlen, &why);
	switch (r) {
	case AUTH_OK:
		atomic_fetch_add(&n_ok, 1);
		return AUTH_OK;
	case AUTH_MISSING:
		/* not a guess: counted, not limited */
		atomic_fetch_add(&n_missing, 1);
		return AUTH_MISSING;
	default:
		break;
	}
	if (userlen > 0)
		user[0] = '\0';
	memset(&a, 0, sizeof(a));	/* no address: the all-zero key */
	if (client != NULL)
		limit_addr_from_net(client, &a);
	if ((*retry_after = limit_check(&a, cw_now_ms())) > 0) {
		atomic_fetch_add(&n_limited, 1);
		return AUTH_LIMITED;
	}
	atomic_fetch_add(&n_failed, 1);
	limit_fail(&a, cw_now_ms());
	if (client != NULL)
		policy_net_format(addr, sizeof(addr), client);
	/* bounded by the limit: at most LIMIT_BURST lines a burst */
	log_warnx("auth: refused from %s: %s", addr, why);
	return AUTH_FAIL;
}

void
auth_counters(struct auth_counters *out)
{
	out->ok = atomic_load(&n_ok);
	out->failed = atomic_load(&n_failed);
	out->missing = atomic_load(&n_missing);
	out->limited = atomic_load(&n_limited);
}
