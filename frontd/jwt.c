#include "jwt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipc.h"
#include "strict.h"
#include "utf8.h"

#define JWT_SIG_LEN	crypto_sign_BYTES	/* 64 */
#define JWT_TIME_MAX	((int64_t)1 << 40)	/* far beyond any real date */

/* the DER of an Ed25519 SubjectPublicKeyInfo up to the 32 key bytes */
static const unsigned char spki_ed25519[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};

/* base64url without padding, canonical, every byte consumed */
static int
b64url(const char *s, size_t len, unsigned char *out, size_t cap,
    size_t *outlen)
{
	const char *end = NULL;

	if (len == 0)
		return -1;
	if (sodium_base642bin(out, cap, s, len, NULL, outlen, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	return end == s + len ? 0 : -1;
}

/*
 * Decoded bytes -> a JSON object: valid UTF-8 (so no NUL), no \u0000 escape
 * (cJSON would cut the string there), nothing after the value, at most
 * JWT_MEMBERS_MAX members and no member twice.
 */
static cJSON *
json_object(const unsigned char *buf, size_t len, const char **why)
{
	cJSON *j, *a, *b;
	size_t n = 0;

	if (!utf8_valid(buf, len))
		return *why = "JSON is not UTF-8", NULL;
	if ((j = strict_json_parse((const char *)buf, len, why)) == NULL)
		return NULL;
	if (!cJSON_IsObject(j)) {
		*why = "not a JSON object";
		goto bad;
	}
	for (a = j->child; a != NULL; a = a->next) {
		if (++n > JWT_MEMBERS_MAX) {
			*why = "too many members";
			goto bad;
		}
		for (b = a->next; b != NULL; b = b->next) {
			if (strcmp(a->string, b->string) == 0) {
				*why = "a member appears twice";
				goto bad;
			}
		}
	}
	return j;
bad:
	cJSON_Delete(j);
	return NULL;
}

static int
check_header(const struct jwt_config *c, const cJSON *h, const char **why)
{
	const cJSON *v;

	/* only what is configured and implemented: never none, never HMAC */
	if (c->alg == NULL || strcmp(c->alg, "EdDSA") != 0)
		return *why = "the configured alg is not implemented", -1;
	v = cJSON_GetObjectItemCaseSensitive(h, "alg");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, c->alg) != 0)
		return *why = "alg is not the configured one", -1;
	v = cJSON_GetObjectItemCaseSensitive(h, "typ");
	if (v != NULL && (!cJSON_IsString(v) || strcasecmp(v->valuestring, "JWT") != 0))
		return *why = "typ is not JWT", -1;
	if (cJSON_GetObjectItemCaseSensitive(h, "crit") != NULL)
		return *why = "crit is not supported", -1;
	v = cJSON_GetObjectItemCaseSensitive(h, "kid");
	if (v != NULL && (!cJSON_IsString(v) || strlen(v->valuestring) > JWT_KID_MAX))
		return *why = "kid is not a short string", -1;
	return 0;
}

/* an integer NumericDate; 1 present, 0 absent, -1 malformed */
static int
claim_time(const cJSON *p, const char *name, int64_t *t)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, name);

	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble < 0 || v->valuedouble > (double)JWT_TIME_MAX ||
	    (double)(int64_t)v->valuedouble != v->valuedouble)
		return -1;
	*t = (int64_t)v->valuedouble;
	return 1;
}

static int
check_audience(const struct jwt_config *c, const cJSON *aud)
{
	const cJSON *e;
	int n = 0, found = 0;

	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, c->audience) == 0 ? 0 : -1;
	if (!cJSON_IsArray(aud))
		return -1;
	cJSON_ArrayForEach(e, aud) {
		if (++n > JWT_AUD_MAX || !cJSON_IsString(e))
			return -1;
		found |= strcmp(e->valuestring, c->audience) == 0;
	}
	return found ? 0 : -1;
}

static int
check_claims(const struct jwt_config *c, const cJSON *p, int64_t now,
    char *sub, size_t sublen, const char **why)
{
	char user[IPC_USER_MAX];
	const cJSON *v;
	int64_t exp = 0, iat = 0, nbf = 0, start;
	int has_nbf;
	size_t n;

	v = cJSON_GetObjectItemCaseSensitive(p, "iss");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, c->issuer) != 0)
		return *why = "iss is not the configured issuer", -1;
	v = cJSON_GetObjectItemCaseSensitive(p, "aud");
	if (v == NULL || check_audience(c, v) != 0)
		return *why = "aud does not name the configured audience", -1;
	if (claim_time(p, "exp", &exp) != 1)
		return *why = "exp is missing or not an integer", -1;
	if (claim_time(p, "iat", &iat) != 1)
		return *why = "iat is missing or not an integer", -1;
	if ((has_nbf = claim_time(p, "nbf", &nbf)) < 0)
		return *why = "nbf is not an integer", -1;
	if (now >= exp + JWT_SKEW_S)
		return *why = "expired", -1;
	if (iat > now + JWT_SKEW_S)
		return *why = "issued in the future", -1;
	if (has_nbf && nbf > now + JWT_SKEW_S)
		return *why = "not yet valid", -1;
	start = has_nbf && nbf < iat ? nbf : iat;
	if (exp <= start)
		return *why = "exp is not after iat and nbf", -1;
	if (exp - start > JWT_LIFETIME_MAX_S)
		return *why = "lifetime longer than 300 s", -1;
	v = cJSON_GetObjectItemCaseSensitive(p, "sub");
	if (!cJSON_IsString(v))
		return *why = "sub is missing", -1;
	n = strlen(v->valuestring);
	if (n == 0 || n >= sizeof(user) || n >= sublen)
		return *why = "sub is empty or too long", -1;
	memset(user, 0, sizeof(user));
	memcpy(user, v->valuestring, n);
	if (!ipc_user_ok(user, sizeof(user)))
		return *why = "sub has characters outside [A-Za-z0-9_.:@-]", -1;
	memcpy(sub, user, n + 1);
	return 0;
}

int
jwt_verify(const struct jwt_config *c, const char *token, size_t len,
    int64_t now, char *sub, size_t sublen, const char **why)
{
	unsigned char hbuf[JWT_HEADER_MAX], pbuf[JWT_PAYLOAD_MAX];
	unsigned char sig[JWT_SIG_LEN + 1];
	const char *d1, *d2;
	size_t hlen, plen, slen;
	cJSON *h = NULL, *p = NULL;
	int r = -1;

	if (sublen > 0)
		sub[0] = '\0';
	if (len == 0 || len > JWT_TOKEN_MAX)
		return *why = "token empty or too long", -1;
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		return *why = "not three dot-separated parts", -1;

	if (b64url(token, (size_t)(d1 - token), hbuf, sizeof(hbuf), &hlen) != 0)
		return *why = "header is not base64url", -1;
	if ((h = json_object(hbuf, hlen, why)) == NULL)
		goto out;
	if (check_header(c, h, why) != 0)
		goto out;

	/* the signature before anything the payload says */
	if (b64url(d2 + 1, len - (size_t)(d2 + 1 - token), sig, sizeof(sig),
	    &slen) != 0 || slen != JWT_SIG_LEN) {
		*why = "signature is not 64 base64url bytes";
		goto out;
	}
	if (crypto_sign_verify_detached(sig, (const unsigned char *)token,
	    (unsigned long long)(d2 - token), c->pk) != 0) {
		*why = "bad signature";
		goto out;
	}

	if (b64url(d1 + 1, (size_t)(d2 - d1 - 1), pbuf, sizeof(pbuf), &plen) != 0) {
		*why = "payload is not base64url";
		goto out;
	}
	if ((p = json_object(pbuf, plen, why)) == NULL)
		goto out;
	if (check_claims(c, p, now, sub, sublen, why) != 0)
		goto out;
	*why = "ok";
	r = 0;
out:
	cJSON_Delete(h);
	cJSON_Delete(p);
	sodium_memzero(pbuf, sizeof(pbuf));
	return r;
}

/* the next line of [*pos, len): without its LF or CRLF; -1 at the end */
static int
next_line(const char *buf, size_t len, size_t *pos, const char **line,
    size_t *llen, int *ended)
{
	const char *nl;
	size_t n;

	if (*pos >= len)
		return -1;
	*line = buf + *pos;
	nl = memchr(*line, '\n', len - *pos);
	n = nl != NULL ? (size_t)(nl - *line) : len - *pos;
	*pos += n + (nl != NULL ? 1 : 0);
	*ended = nl != NULL;
	if (nl != NULL && n > 0 && (*line)[n - 1] == '\r')
		n--;
	*llen = n;
	return 0;
}

static int
is_b64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || ch == '=';
}

int
jwt_parse_pem(const char *buf, size_t len, unsigned char pk[JWT_PK_LEN],
    const char **why)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----";
	static const char end[] = "-----END PUBLIC KEY-----";
	char b64[JWT_PEM_MAX];
	unsigned char der[JWT_PEM_MAX];
	const char *line, *b64end = NULL;
	size_t pos = 0, llen, nb64 = 0, derlen, i;
	int ended, done = 0;

	if (len == 0 || len > JWT_PEM_MAX)
		return *why = "empty or larger than 4096 bytes", -1;
	if (next_line(buf, len, &pos, &line, &llen, &ended) != 0 ||
	    llen != sizeof(begin) - 1 || memcmp(line, begin, llen) != 0 || !ended)
		return *why = "does not start with -----BEGIN PUBLIC KEY-----", -1;
	while (next_line(buf, len, &pos, &line, &llen, &ended) == 0) {
		if (llen == sizeof(end) - 1 && memcmp(line, end, llen) == 0) {
			done = 1;
			break;
		}
		if (llen == 0 || llen > 76 || !ended)
			return *why = "a base64 line is empty, longer than 76 or unterminated", -1;
		for (i = 0; i < llen; i++)
			if (!is_b64_char(line[i]))
				return *why = "a base64 line holds another character", -1;
		if (nb64 + llen > sizeof(b64))
			return *why = "too much base64", -1;
		memcpy(b64 + nb64, line, llen);
		nb64 += llen;
	}
	if (!done)
		return *why = "no -----END PUBLIC KEY----- line", -1;
	if (pos != len)
		return *why = "bytes after the END line", -1;
	if (nb64 == 0 || sodium_base642bin(der, sizeof(der), b64, nb64, NULL,
	    &derlen, &b64end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    b64end != b64 + nb64)
		return *why = "the base64 does not decode", -1;
	if (derlen != sizeof(spki_ed25519) + JWT_PK_LEN ||
	    memcmp(der, spki_ed25519, sizeof(spki_ed25519)) != 0)
		return *why = "not an Ed25519 SubjectPublicKeyInfo", -1;
	if (!crypto_core_ed25519_is_valid_point(der + sizeof(spki_ed25519)))
		return *why = "not a valid Ed25519 public key", -1;
	memcpy(pk, der + sizeof(spki_ed25519), JWT_PK_LEN);
	*why = "ok";
	return 0;
}
