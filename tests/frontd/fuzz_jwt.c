/*
 * Fuzz the token verifier and the public-key parser. The first byte picks
 * which; the rest is the input. The key is fixed (the corpus tokens are
 * signed with it by gen_jwt_corpus.py's seed) and so is the clock, so a
 * mutated valid token reaches every claim check.
 */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW	1767225600LL

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jwt_config cfg;
	static int ready;
	unsigned char pk[JWT_PK_LEN];
	char sub[64];
	const char *why;

	if (!ready) {
		unsigned char seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES];

		if (sodium_init() < 0)
			abort();
		memset(seed, 7, sizeof(seed));
		crypto_sign_seed_keypair(cfg.pk, sk, seed);
		cfg.alg = "EdDSA";
		cfg.issuer = "librechat";
		cfg.audience = "codeapi";
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (jwt_parse_pem((const char *)data + 1, size - 1, pk, &why) == 0 &&
		    strcmp(why, "ok") != 0)
			abort();
		return 0;
	}
	if (jwt_verify(&cfg, (const char *)data + 1, size - 1, FUZZ_NOW, sub,
	    sizeof(sub), &why) == 0) {
		/* an accepted token always yields a non-empty, terminated sub */
		if (sub[0] == '\0' || memchr(sub, '\0', sizeof(sub)) == NULL)
			abort();
	} else if (sub[0] != '\0') {
		abort();
	}
	return 0;
}
