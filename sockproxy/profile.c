/*
 * The workers' seccomp profile (policy isolation jail): Docker's default
 * plus jail/seccomp-jail.py's two rules, read once at start from the file
 * the operator names (--jail-seccomp), held to the policy's jail-seccomp
 * digest, and kept as the one "seccomp=<profile>" SecurityOpt entry that
 * tmpl.c writes on every container and answer.c expects back. Without
 * isolation jail no profile is read and containers keep the engine's
 * default. Runs before the privilege drop: no I/O after it.
 */
#include "tmpl.h"

#include "answer.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define SP_PROFILE_MAX	(48 * 1024)	/* the create body is SP_JSON_MAX * 2 */

void
sp_profile_load(struct sp_conf *conf, const char *path)
{
	const struct policy *p = conf->policy;
	unsigned char md[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1], *text, *opt;
	size_t len, i;

	conf->seccomp_opt = NULL;
	if (p->isolation != ISOLATION_JAIL) {
		if (path != NULL)
			log_info("--jail-seccomp %s: not read, the policy says isolation "
			    "container", path);
		return;
	}
	if (path == NULL)
		fatalx("policy isolation jail: the workers' seccomp profile is needed "
		    "(--jail-seccomp FILE)");
	if ((text = cw_read_file(path, SP_PROFILE_MAX, &len)) == NULL)
		fatal("jail-seccomp %s", path);
	crypto_hash_sha256(md, (const unsigned char *)text, len);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	if (strncmp(p->jail_seccomp, "sha256:", 7) != 0 ||
	    strcmp(p->jail_seccomp + 7, hex) != 0)
		fatalx("jail-seccomp %s: sha256:%s, the policy pins %s", path, hex,
		    p->jail_seccomp);
	for (i = 0; i < len; i++)
		if (text[i] == '\0')
			fatalx("jail-seccomp %s: a NUL byte", path);
	if (!sp_answer_profile_ok(text, len))
		fatalx("jail-seccomp %s: not a seccomp profile (a JSON object with "
		    "defaultAction and syscalls)", path);
	if ((opt = malloc(len + sizeof("seccomp="))) == NULL)
		fatal("jail-seccomp");
	memcpy(opt, "seccomp=", 8);
	memcpy(opt + 8, text, len + 1);
	free(text);
	conf->seccomp_opt = opt;
	log_info("jail-seccomp %s: sha256:%s", path, hex);
}
