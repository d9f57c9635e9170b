/*
 * auth_check in each policy mode (which header is read, keys of every
 * wrong shape, JWTs where they are and are not accepted) and the per-address
 * limit of failed attempts, with injected clocks.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "limit.h"


#include "../lib/check.h"

#define NOW	1767225600LL

static const char key[] = "cw_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static char dir[] = "/tmp/cw-test-auth-XXXXXX";
static char keys_path[256], pem_path[256];

static char *
token(const char *payload)
{
	static char tok[4096];
	static const char hdr[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
	unsigned char sig[crypto_sign_BYTES];
	char h[256], p[2048], s[128];

	sodium_bin2base64(h, sizeof(h), (const unsigned char *)hdr, strlen(hdr), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(p, sizeof(p), (const unsigned char *)payload, strlen(payload), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(tok, sizeof(tok), "%s.%s", h, p);
	crypto_sign_detached(sig, NULL, (unsigned char *)tok, strlen(tok), sk);
	sodium_bin2base64(s, sizeof(s), sig, sizeof(sig), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	strcat(tok, ".");
	strcat(tok, s);
	return tok;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
setup(void)
{
	unsigned char seed[crypto_sign_SEEDBYTES], der[44];
	char hex[65], b64[80], pem[256], line[128];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(keys_path, sizeof(keys_path), "%s/keys", dir);
	snprintf(pem_path, sizeof(pem_path), "%s/jwt.pem", dir);
	CHECK(auth_hash_hex(key, strlen(key), hex) == 0);
	snprintf(line, sizeof(line), "# a comment\n\n%s\n", hex);
	write_file(keys_path, line);
	memset(seed, 3, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	memcpy(der, "\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00", 12);
	memcpy(der + 12, pk, 32);
	sodium_bin2base64(b64, sizeof(b64), der, sizeof(der), sodium_base64_VARIANT_ORIGINAL);
	snprintf(pem, sizeof(pem), "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b64);
	write_file(pem_path, pem);
}

static void
mode(enum policy_auth m)
{
	static struct policy p;
	char err[256];

	memset(&p, 0, sizeof(p));
	p.auth = m;
	snprintf(p.jwt_alg, sizeof(p.jwt_alg), "EdDSA");
	snprintf(p.jwt_issuer, sizeof(p.jwt_issuer), "librechat");
	snprintf(p.jwt_audience, sizeof(p.jwt_audience), "codeapi");
	auth_init(&p);
	CHECK(auth_load_keys(keys_path, err, sizeof(err)) == 0);
	CHECK(auth_load_jwt_key(pem_path, err, sizeof(err)) == 0);
}

static enum auth_result
check(const char *xkey, const char *authz, char *user)
{
	const char *why;

	return auth_check(xkey, authz, NOW, user, AUTH_USER_MAX, &why);
}

static void
test_keys(void)
{
	char user[AUTH_USER_MAX], buf[600], bearer[700];

	mode(AUTH_API_KEY);
	CHECK(check(NULL, NULL, user) == AUTH_MISSING);
	CHECK(check(key, NULL, user) == AUTH_OK && user[0] == '\0');
	CHECK(check("wrong", NULL, user) == AUTH_FAIL);
	CHECK(check("", NULL, user) == AUTH_FAIL);
	/* truncated, extended, one character changed, case changed */
	snprintf(buf, sizeof(buf), "%.*s", (int)strlen(key) - 1, key);
	CHECK(check(buf, NULL, user) == AUTH_FAIL);
	snprintf(buf, sizeof(buf), "%sx", key);
	CHECK(check(buf, NULL, user) == AUTH_FAIL);
	snprintf(buf, sizeof(buf), "%s", key);
	buf[10] ^= 1;
	CHECK(check(buf, NULL, user) == AUTH_FAIL);
	snprintf(buf, sizeof(buf), "CW%s", key + 2);
	CHECK(check(buf, NULL, user) == AUTH_FAIL);
	/* overlong: 257 bytes whose first 256... are the key and padding */
	memset(buf, 'a', 257);
	memcpy(buf, key, strlen(key));
	buf[257] = '\0';
	CHECK(check(buf, NULL, user) == AUTH_FAIL);
	/* Bearer carries a key in this mode; X-API-Key wins when both */
	snprintf(bearer, sizeof(bearer), "Bearer %s", key);
	CHECK(check(NULL, bearer, user) == AUTH_OK);
	snprintf(bearer, sizeof(bearer), "bearer   %s", key);
	CHECK(check(NULL, bearer, user) == AUTH_OK);
	CHECK(check("wrong", bearer, user) == AUTH_FAIL);
	CHECK(check(NULL, "Basic Zm9vOmJhcg==", user) == AUTH_FAIL);
	CHECK(check(NULL, "Bearer ", user) == AUTH_FAIL);
	/* a valid JWT is not a key */
	snprintf(bearer, sizeof(bearer), "Bearer %s", token(
	    "{\"iss\":\"librechat\",\"aud\":\"codeapi\",\"sub\":\"u1\","
	    "\"iat\":1767225590,\"exp\":1767225800}"));
	CHECK(check(NULL, bearer, user) == AUTH_FAIL);
}

static void
test_jwt_modes(void)
{
	char user[AUTH_USER_MAX], bearer[4200], kb[300];
	const char *good = token("{\"iss\":\"librechat\",\"aud\":\"codeapi\","
	    "\"sub\":\"6650f1c2a1b2c3d4e5f60718\",\"iat\":1767225590,\"nbf\":1767225590,"
	    "\"exp\":1767225800}");

	snprintf(bearer, sizeof(bearer), "Bearer %s", good);
	snprintf(kb, sizeof(kb), "Bearer %s", key);
	mode(AUTH_JWT);
	CHECK(check(NULL, bearer, user) == AUTH_OK);
	CHECK(strcmp(user, "6650f1c2a1b2c3d4e5f60718") == 0);
	CHECK(check(key, NULL, user) == AUTH_FAIL);	/* keys are off */
	CHECK(check(NULL, kb, user) == AUTH_FAIL);
	CHECK(check(NULL, NULL, user) == AUTH_MISSING);
	mode(AUTH_API_KEY_JWT);
	CHECK(check(NULL, bearer, user) == AUTH_OK);
	CHECK(strcmp(user, "6650f1c2a1b2c3d4e5f60718") == 0);
	CHECK(check(key, NULL, user) == AUTH_OK && user[0] == '\0');
	CHECK(check(NULL, kb, user) == AUTH_OK);
	bearer[strlen(bearer) - 3] ^= 1;
	CHECK(check(NULL, bearer, user) == AUTH_FAIL && user[0] == '\0');
	mode(AUTH_NONE);
	CHECK(check(NULL, NULL, user) == AUTH_OK);
}

static void
test_limit(void)
{
	struct sockaddr_in a4, b4;
	struct sockaddr_in6 a6, b6, m6;
	struct limit_addr la, lb, l6a, l6b, lm;
	uint64_t t = 1000000;
	int i;

	limit_init();
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &a4.sin_addr);
	b4 = a4;
	inet_pton(AF_INET, "192.0.2.2", &b4.sin_addr);
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &a6.sin6_addr);
	b6 = a6;
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &b6.sin6_addr);
	m6 = a6;
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &m6.sin6_addr);
	CHECK(limit_addr_from(NULL, &la) == -1);
	limit_addr_from((struct sockaddr *)&a4, &la);
	limit_addr_from((struct sockaddr *)&b4, &lb);
	limit_addr_from((struct sockaddr *)&a6, &l6a);
	limit_addr_from((struct sockaddr *)&b6, &l6b);
	limit_addr_from((struct sockaddr *)&m6, &lm);
	CHECK(memcmp(&la, &lm, sizeof(la)) == 0);	/* v4 and v4-mapped: one */
	CHECK(memcmp(&l6a, &l6b, sizeof(la)) == 0);	/* one /64 */
	CHECK(memcmp(&la, &lb, sizeof(la)) != 0);

	for (i = 0; i < LIMIT_BURST; i++) {
		CHECK(limit_check(&la, t) == 0);
		limit_fail(&la, t);
	}
	CHECK(limit_check(&la, t) == LIMIT_REFILL_S);
	CHECK(limit_check(&lm, t) == LIMIT_REFILL_S);
	CHECK(limit_check(&lb, t) == 0);		/* another address */
	CHECK(limit_check(&la, t + 3000) == 3);
	CHECK(limit_check(&la, t + LIMIT_REFILL_S * 1000 - 1) == 1);
	CHECK(limit_check(&la, t + LIMIT_REFILL_S * 1000) == 0);
	limit_fail(&la, t + LIMIT_REFILL_S * 1000);
	CHECK(limit_check(&la, t + LIMIT_REFILL_S * 1000) == LIMIT_REFILL_S);
	/* a full refill after a long quiet time, never more than the burst */
	t += 3600 * 1000;
	for (i = 0; i < LIMIT_BURST; i++)
		limit_fail(&la, t);
	CHECK(limit_check(&la, t) > 0);
	/* IPv6 neighbours share a budget */
	for (i = 0; i < LIMIT_BURST; i++)
		limit_fail(&l6a, t);
	CHECK(limit_check(&l6b, t) > 0);
	/* flooding the table with other addresses does not free a limited one */
	for (i = 0; i < 100000; i++) {
		struct limit_addr x;

		memset(&x, 0, sizeof(x));
		memcpy(x.b, &i, sizeof(i));
		limit_fail(&x, t);
	}
	CHECK(limit_check(&la, t) > 0);
}

/* the HTTP hook: counters, the limit in front of the check */
static void
test_request(void)
{
	struct auth_counters c0, c1;
	struct policy_net a, b;
	char user[AUTH_USER_MAX];
	unsigned int retry;
	int i;

	mode(AUTH_API_KEY);		/* a fresh limit table */
	CHECK(policy_net_parse("198.51.100.7", 0, &a) == 0);
	CHECK(policy_net_parse("198.51.100.8", 0, &b) == 0);
	auth_counters(&c0);
	CHECK(auth_request(&a, key, NULL, user, sizeof(user), &retry) == AUTH_OK);
	CHECK(auth_request(&a, NULL, NULL, user, sizeof(user), &retry) == AUTH_MISSING);
	for (i = 0; i < LIMIT_BURST; i++)
		CHECK(auth_request(&a, "nope", NULL, user,
		    sizeof(user), &retry) == AUTH_FAIL && retry == 0);
	/* over the budget: a wrong key is refused unlogged, 429 ... */
	CHECK(auth_request(&a, "nope", NULL, user, sizeof(user), &retry) == AUTH_LIMITED);
	CHECK(retry > 0 && retry <= LIMIT_REFILL_S);
	/* ... and the right key from the same address is never refused for it */
	CHECK(auth_request(&a, key, NULL, user, sizeof(user), &retry) == AUTH_OK && retry == 0);
	CHECK(auth_request(&a, "Bearer x", NULL, user, sizeof(user), &retry) == AUTH_LIMITED);
	CHECK(auth_request(NULL, key, NULL, user, sizeof(user), &retry) == AUTH_OK);
	CHECK(auth_request(&b, key, NULL, user, sizeof(user), &retry) == AUTH_OK);
	/* missing credentials are counted but do not spend the budget */
	for (i = 0; i < 3 * LIMIT_BURST; i++)
		CHECK(auth_request(&b, NULL, NULL, user,
		    sizeof(user), &retry) == AUTH_MISSING);
	CHECK(auth_request(&b, "nope", NULL, user, sizeof(user), &retry) == AUTH_FAIL);
	CHECK(auth_request(&b, key, NULL, user, sizeof(user), &retry) == AUTH_OK);
	auth_counters(&c1);
	CHECK(c1.ok - c0.ok == 5);
	CHECK(c1.failed - c0.failed == LIMIT_BURST + 1);
	CHECK(c1.missing - c0.missing == 1 + 3 * LIMIT_BURST);
	CHECK(c1.limited - c0.limited == 2);
	/* mode none: everything passes, nothing is limited */
	mode(AUTH_NONE);
	CHECK(auth_request(&a, NULL, NULL, user, sizeof(user), &retry) == AUTH_OK);
}

/* the client address: the peer, or behind a trusted proxy X-Forwarded-For's */
static void
test_client(void)
{
	static const struct {
		const char	*peer, *xff;
		size_t		nxff;
		const char	*want;
	} cases[] = {
		/* no trust: the header is never read */
		{ "203.0.113.5", "198.51.100.1", 1, "203.0.113.5" },
		/* a trusted proxy: the last address that is not one */
		{ "127.0.0.1", "198.51.100.1", 1, "198.51.100.1" },
		{ "127.0.0.1", "192.0.2.9, 198.51.100.1", 1, "198.51.100.1" },
		{ "127.0.0.1", "192.0.2.9,198.51.100.1, 10.1.2.3", 1, "198.51.100.1" },
		{ "10.9.9.9", " 198.51.100.1 ,\t10.1.2.3\t", 1, "198.51.100.1" },
		{ "127.0.0.1", "10.0.0.1, 10.0.0.2", 1, "10.0.0.1" },	/* all trusted */
		{ "127.0.0.1", "2001:db8::1", 1, "2001:db8::1" },
		{ "::1", "198.51.100.1", 1, "198.51.100.1" },
		/* spoofed to the left of the proxy's own entry: ignored */
		{ "127.0.0.1", "1.1.1.1, 198.51.100.1", 1, "198.51.100.1" },
		/* absent, or not strictly a list of addresses: the proxy itself */
		{ "127.0.0.1", NULL, 0, "127.0.0.1" },
		{ "127.0.0.1", "198.51.100.1", 2, "127.0.0.1" },	/* two headers */
		{ "127.0.0.1", "", 1, "127.0.0.1" },
		{ "127.0.0.1", "198.51.100.1,", 1, "127.0.0.1" },
		{ "127.0.0.1", "198.51.100.1,,192.0.2.9", 1, "127.0.0.1" },
		{ "127.0.0.1", "198.51.100.1:4711", 1, "127.0.0.1" },
		{ "127.0.0.1", "[2001:db8::1]", 1, "127.0.0.1" },
		{ "127.0.0.1", "unknown", 1, "127.0.0.1" },
		{ "127.0.0.1", "198.51.100.1 192.0.2.9", 1, "127.0.0.1" },
		{ "127.0.0.1", "10.0.0.0/8", 1, "127.0.0.1" },
		{ "127.0.0.1", "fe80::1%eth0", 1, "127.0.0.1" },
	};
	struct policy_net proxies[3], peer, got, want;
	char many[LIMIT_XFF_MAX + 16];
	size_t i, n;

	CHECK(policy_net_parse("127.0.0.1", 1, &proxies[0]) == 0);
	CHECK(policy_net_parse("10.0.0.0/8", 1, &proxies[1]) == 0);
	CHECK(policy_net_parse("::1", 1, &proxies[2]) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(policy_net_parse(cases[i].peer, 0, &peer) == 0);
		CHECK(policy_net_parse(cases[i].want, 0, &want) == 0);
		limit_client(&peer, cases[i].xff, cases[i].nxff, proxies, 3, &got);
		CHECK_CASE(memcmp(&got, &want, sizeof(want)) == 0,
		    cases[i].xff != NULL ? cases[i].xff : "(none)");
	}
	/* no trusted proxies at all: the peer, whatever the header says */
	CHECK(policy_net_parse("127.0.0.1", 0, &peer) == 0);
	limit_client(&peer, "198.51.100.1", 1, proxies, 0, &got);
	CHECK(memcmp(&got, &peer, sizeof(peer)) == 0);
	/* bounds: LIMIT_XFF_HOPS addresses are read, one more is not */
	for (n = 0, i = 0; i < LIMIT_XFF_HOPS; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s192.0.2.%zu",
		    i ? "," : "", i + 1);
	limit_client(&peer, many, 1, proxies, 3, &got);
	CHECK(policy_net_parse("192.0.2.32", 0, &want) == 0 &&
	    memcmp(&got, &want, sizeof(want)) == 0);
	snprintf(many + n, sizeof(many) - n, ",192.0.2.99");
	limit_client(&peer, many, 1, proxies, 3, &got);
	CHECK(memcmp(&got, &peer, sizeof(peer)) == 0);
	memset(many, ' ', sizeof(many) - 1);
	many[sizeof(many) - 1] = '\0';
	memcpy(many, "192.0.2.1", 9);
	limit_client(&peer, many, 1, proxies, 3, &got);
	CHECK(memcmp(&got, &peer, sizeof(peer)) == 0);
	/* the counting keys: IPv4 whole, IPv6 by /64, as limit_addr_from */
	{
		struct limit_addr k1, k2;

		CHECK(policy_net_parse("2001:db8:1:2::5", 0, &got) == 0);
		CHECK(policy_net_parse("2001:db8:1:2:ffff::9", 0, &want) == 0);
		limit_addr_from_net(&got, &k1);
		limit_addr_from_net(&want, &k2);
		CHECK(memcmp(&k1, &k2, sizeof(k1)) == 0);
		CHECK(policy_net_parse("192.0.2.1", 0, &got) == 0);
		CHECK(policy_net_parse("192.0.2.2", 0, &want) == 0);
		limit_addr_from_net(&got, &k1);
		limit_addr_from_net(&want, &k2);
		CHECK(memcmp(&k1, &k2, sizeof(k1)) != 0);
	}
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	setup();
	test_keys();
	test_jwt_modes();
	test_limit();
	test_request();
	test_client();
	unlink(keys_path);
	unlink(pem_path);
	rmdir(dir);
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("auth: all checks passed\n");
	return check_done("test_auth");
}
