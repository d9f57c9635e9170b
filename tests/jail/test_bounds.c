/*
 * jail/jail.h's size bounds (what the agent and cw_jail_enter accept) are
 * policy.h's floors and ceilings of tmp-size, shm-size and tmp-files: a
 * policy the parser takes is never refused by the jail, nor the reverse.
 */
#include "jail.h"
#include "policy.h"
#include "parser.h"

#include <string.h>

#include "../lib/check.h"

_Static_assert(JAIL_SIZE_MAX == POLICY_TMP_CEIL, "tmp-size ceiling");
_Static_assert(JAIL_SIZE_MAX == POLICY_SHM_CEIL, "shm-size ceiling");
_Static_assert(JAIL_FILES_MIN == POLICY_INODES_FLOOR, "tmp-files floor");
_Static_assert(JAIL_FILES_MAX == POLICY_INODES_CEIL, "tmp-files ceiling");

int
main(void)
{
	size_t i, seen = 0;

	/* the floors of the two sizes are in the key table, not policy.h */
	for (i = 0; i < PARSER_NKEYS; i++) {
		const struct key *k = &parser_keys[i];

		if (k->sec != SEC_SANDBOX)
			continue;
		if (strcmp(k->name, "tmp-size") == 0 || strcmp(k->name, "shm-size") == 0) {
			CHECK(k->min == JAIL_SIZE_MIN && k->max == JAIL_SIZE_MAX);
			seen++;
		} else if (strcmp(k->name, "tmp-files") == 0) {
			CHECK(k->min == JAIL_FILES_MIN && k->max == JAIL_FILES_MAX);
			seen++;
		}
	}
	CHECK(seen == 3);
	return check_done("jail-bounds");
}
