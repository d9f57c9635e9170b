/*
 * codeward-keytool: "new" prints a fresh random API key; "hash" reads keys
 * (one per line) on stdin and prints the digest frontd stores for each.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 2 && strcmp(argv[1], "new") == 0) {
		unsigned char raw[32];
		char key[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

		randombytes_buf(raw, sizeof(raw));
		sodium_bin2base64(key, sizeof(key), raw, sizeof(raw),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		printf("cw_%s\n", key);
		sodium_memzero(raw, sizeof(raw));
		sodium_memzero(key, sizeof(key));
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "hash") == 0) {
		char line[AUTH_KEY_MAX + 2], hex[65];
		int n = 0;

		while (fgets(line, sizeof(line), stdin) != NULL) {
			size_t len = strcspn(line, "\r\n");

			line[len] = '\0';
			if (len == 0)
				continue;
			if (auth_hash_hex(line, len, hex) != 0) {
				fprintf(stderr, "codeward-keytool: a key must be 1 to %d bytes\n",
				    AUTH_KEY_MAX);
				return 1;
			}
			printf("%s\n", hex);
			n++;
		}
		sodium_memzero(line, sizeof(line));
		return n > 0 ? 0 : 1;
	}
	fprintf(stderr, "usage: codeward-keytool new | hash < keys\n");
	return 2;
}
