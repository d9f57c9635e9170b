/*
 * What the keys ask together against what the daemons can hold
 * (policy/coherence.c, common/budget.h): each rule with a policy just inside
 * and just outside, the exact message naming the line of the key set last,
 * and the case of issue 14 (total 16 with per-execution 64).
 */
#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "policy.h"

#include "../lib/check.h"

static int
parse(const char *text, char *err, size_t errlen)
{
	struct policy p;

	return policy_parse(text, strlen(text), "t.policy", &p, err, errlen);
}

/* parsed, or refused with a message that begins with want */
static void
expect(const char *text, const char *want)
{
	char err[512];
	int r = parse(text, err, sizeof(err));

	checks++;
	if (want == NULL ? r != 0 : (r == 0 || strncmp(err, want, strlen(want)) != 0)) {
		fprintf(stderr, "policy:\n%swant %s\ngot  %s\n", text,
		    want ? want : "(parsed)", r == 0 ? "(parsed)" : err);
		failures++;
	}
}

static void
test_privd_fds(void)
{
	/* (total + 1) x (per-execution + 6) + 32 against 1024 */
	CHECK(CW_PRIVD_NOFILE == 1024 && CW_PRIVD_FDS_PER_RUN == 6 &&
	    CW_PRIVD_FDS_BASE == 32);
	/* 16 x 62 + 32 = 1024: just inside */
	expect("[files]\nper-execution 56\n[concurrency]\ntotal 15\n", NULL);
	/* 14 x 71 + 32 = 1026 (1025 is no product of these): just outside */
	expect("[files]\nper-execution 65\n[concurrency]\ntotal 13\n",
	    "t.policy:4: [concurrency] total 13 with [files] per-execution 65: privd "
	    "would hold up to 1026 descriptors, over its limit of 1024");
	/* 16 x 63 + 32 = 1040, the line of the key set last */
	expect("[concurrency]\ntotal 15\n[files]\nper-execution 57\n",
	    "t.policy:4: [concurrency] total 15 with [files] per-execution 57");
	/* issue 14's case: 17 x 70 + 32 = 1222 */
	expect("[files]\nper-execution 64\n[concurrency]\ntotal 16\n",
	    "t.policy:4: [concurrency] total 16 with [files] per-execution 64: privd "
	    "would hold up to 1222 descriptors");
	/* a default asks it: per-execution alone, against total's default of 2 */
	expect("[files]\nper-execution 256\n", NULL);
	expect("[concurrency]\ntotal 30\nper-user 1\n", NULL);
	expect("[concurrency]\ntotal 30\n[files]\nper-execution 26\n", NULL);
	expect("[concurrency]\ntotal 30\n[files]\nper-execution 27\n",
	    "t.policy:4: [concurrency] total 30 with [files] per-execution 27");
}

static void
test_frontd_fds(void)
{
	/* connections x 2 + (total + 1) x (per-execution + 3) + 64 against 4096 */
	CHECK(CW_FRONTD_NOFILE == 4096 && CW_FRONTD_FDS_PER_CONN == 2 &&
	    CW_FRONTD_FDS_PER_RUN == 3 && CW_FRONTD_FDS_BASE == 64);
	/* 1022 x 2 + 28 x 71 + 64 = 4096: inside frontd's, outside privd's */
	expect("[files]\nper-execution 68\n[concurrency]\ntotal 27\nconnections 1022\n",
	    "t.policy:4: [concurrency] total 27 with [files] per-execution 68: privd");
	/* 1022 x 2 + 17 x 117 + 64 = 4097: just outside */
	expect("[files]\nper-execution 114\n[concurrency]\ntotal 16\nconnections 1022\n",
	    "t.policy:5: [concurrency] connections 1022, total 16 with [files] "
	    "per-execution 114: frontd would hold up to 4097 descriptors, over its "
	    "limit of 4096");
	/* the ceiling of connections with the defaults */
	expect("[concurrency]\nconnections 1024\nconnections-per-address 64\n", NULL);
}

static void
test_sockproxy_connections(void)
{
	/* total at most (64 - 4) / 2: sockproxy's connections, two a run */
	expect("[concurrency]\ntotal 30\n", NULL);
	expect("[concurrency]\ntotal 31\n",
	    "t.policy:2: total 31 is above the ceiling of 30");
	expect("[concurrency]\ntotal 30\nper-user 31\n",
	    "t.policy:3: per-user 31 is above the ceiling of 30");
}

int
main(void)
{
	test_privd_fds();
	test_frontd_fds();
	test_sockproxy_connections();
	return check_done("test_coherence");
}
