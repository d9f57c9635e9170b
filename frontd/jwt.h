/*
 * LibreChat's Code API tokens (CONTRACT.md): compact JWS, alg EdDSA
 * (Ed25519), verified with one configured public key. Pure functions over
 * bytes, no I/O and no clock of their own, so the tests and the fuzzer drive
 * exactly the code that runs.
 *
 * A token is accepted only when all of these hold, checked in this order:
 * three base64url (no padding, canonical) parts of bounded length; a header
 * that is a JSON object without duplicate members, whose alg is the
 * configured one (never "none", never an HMAC), typ absent or "JWT", no
 * crit; a 64-byte signature that verifies over "header.payload"; a payload
 * that is a JSON object without duplicate members, iss equal to the
 * configured issuer, aud the configured audience (a string, or an array
 * holding it), integer exp and iat (nbf optional), not expired and not yet
 * valid beyond JWT_SKEW_S, a lifetime exp - min(iat, nbf) of 1 to
 * JWT_LIFETIME_MAX_S seconds, and a sub of the user-id character class.
 */
#ifndef CW_JWT_H
#define CW_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_TOKEN_MAX		4096	/* whole compact token, bytes */
#define JWT_HEADER_MAX		1024	/* decoded header JSON */
#define JWT_PAYLOAD_MAX		2048	/* decoded payload JSON */
#define JWT_MEMBERS_MAX		32	/* members of the header or payload */
#define JWT_AUD_MAX		8	/* entries of an aud array */
#define JWT_KID_MAX		256
#define JWT_SKEW_S		30	/* clock difference tolerated */
#define JWT_LIFETIME_MAX_S	300	/* CONTRACT: exp - iat <= 300 s */
#define JWT_PK_LEN		32	/* Ed25519 public key */
#define JWT_PEM_MAX		4096	/* public-key file */

struct jwt_config {
	unsigned char	pk[JWT_PK_LEN];
	const char	*alg;		/* "EdDSA": the only one implemented */
	const char	*issuer;
	const char	*audience;
};

/*
 * Verify a compact token of len bytes at time now (seconds since the epoch).
 * Returns 0 with the sub claim in sub (NUL-terminated, < sublen bytes), or -1
 * with a fixed reason in *why (never any byte of the token).
 */
int	jwt_verify(const struct jwt_config *c, const char *token, size_t len,
	    int64_t now, char *sub, size_t sublen, const char **why);

/*
 * Parse a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) holding an Ed25519 key,
 * exactly as `openssl pkey -pubout` writes it: the BEGIN line, base64 lines
 * of at most 76 characters, the END line, LF or CRLF line ends, nothing
 * before or after. Any other key type, a private key, a second key or a key
 * that is not a valid curve point is refused. Returns 0 or -1 (*why set).
 */
int	jwt_parse_pem(const char *buf, size_t len, unsigned char pk[JWT_PK_LEN],
	    const char **why);

#endif
