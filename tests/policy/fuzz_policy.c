/*
 * Fuzz the policy parser with any bytes. Every input either parses or fails
 * with a "FILE:..." message; a policy that parses must print as an effective
 * policy that parses back to the same struct. Anything else aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[65536], out2[65536];
	static struct policy p, q;
	char err[512];

	memset(err, 'Z', sizeof(err));
	if (policy_parse((const char *)data, size, "f", &p, err, sizeof(err)) != 0) {
		/* a message, NUL-terminated, naming the file */
		if (memchr(err, '\0', sizeof(err)) == NULL || strncmp(err, "f:", 2) != 0)
			abort();
		return 0;
	}
	if (err[0] != '\0')
		abort();
	if (p.swap < p.memory || p.time_default_ms > p.time_max_ms ||
	    p.conc_per_user > p.conc_total || p.uid == 0 ||
	    p.lifetime_s < POLICY_LIFETIME_FLOOR_S || p.nimages > POLICY_IMAGES_MAX ||
	    (p.runtime == RUNTIME_RUNSC && p.pids < POLICY_PIDS_RUNSC_FLOOR) ||
	    (p.runtime == RUNTIME_RUNSC && p.isolation == ISOLATION_JAIL &&
	    p.pids < POLICY_PIDS_RUNSC_JAIL_FLOOR))
		abort();
	if (policy_format(&p, out, sizeof(out)) != 0)
		abort();
	if (policy_parse(out, strlen(out), "effective", &q, err, sizeof(err)) != 0)
		abort();
	if (memcmp(&p, &q, sizeof(p)) != 0)
		abort();
	if (policy_format(&q, out2, sizeof(out2)) != 0 || strcmp(out, out2) != 0)
		abort();
	return 0;
}
