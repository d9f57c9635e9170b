#include "auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"

/* a fixed context so a digest of this file is useless anywhere else */
static const unsigned char hash_key[crypto_generichash_KEYBYTES] =
    "codeward api key digest v1.....";

static unsigned char	keys[AUTH_KEYS_MAX][AUTH_HASH_LEN];
static size_t		nkeys;
static enum policy_auth	mode;

void
auth_init(const struct policy *p)
{
	mode = p->auth;
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

static enum auth_result
check_key(const char *key)
{
	unsigned char h[AUTH_HASH_LEN];
	size_t len = strnlen(key, AUTH_KEY_MAX + 1), i;
	int match = 0;

	if (len == 0 || len > AUTH_KEY_MAX)
		return AUTH_FAIL;
	if (hash_key_bytes(key, len, h) != 0)
		return AUTH_FAIL;
	/* every digest is compared: the time does not depend on which matched */
	for (i = 0; i < nkeys; i++)
		match |= crypto_verify_32(h, keys[i]) == 0;
	sodium_memzero(h, sizeof(h));
	return match ? AUTH_OK : AUTH_FAIL;
}

enum auth_result
auth_check(const char *x_api_key, const char *authorization, char *user,
    size_t userlen)
{
	const char *bearer = NULL;

	if (userlen > 0)
		user[0] = '\0';
	if (mode == AUTH_NONE)
		return AUTH_OK;
	if (authorization != NULL && strncasecmp(authorization, "Bearer ", 7) == 0) {
		bearer = authorization + 7;
		while (*bearer == ' ')
			bearer++;
	}
	if (x_api_key == NULL && bearer == NULL)
		return AUTH_MISSING;
	if (mode == AUTH_API_KEY || mode == AUTH_API_KEY_JWT) {
		if (x_api_key != NULL)
			return check_key(x_api_key);
		if (bearer != NULL && check_key(bearer) == AUTH_OK)
			return AUTH_OK;
	}
	/* JWT verification: see jwt.c once it lands */
	return AUTH_FAIL;
}
