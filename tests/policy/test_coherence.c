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
	/*
	 * (total + 1) x (per-execution + 6) + queue x (per-execution + 1) +
	 * connections + 48 against 15376
	 */
	CHECK(CW_PRIVD_NOFILE == 15376 && CW_PRIVD_FDS_PER_RUN == 6 &&
	    CW_PRIVD_FDS_PER_WAITER == 1 && CW_PRIVD_FDS_PER_CONN == 1 &&
	    CW_PRIVD_FDS_BASE == 48);
	/* 2 x 259 + 55 x 254 + 840 + 48 = 15376: just inside (frontd: 16336) */
	expect("[files]\nper-execution 253\n[concurrency]\ntotal 1\nqueue 55\n"
	    "connections 840\n", NULL);
	/* 2 x 259 + 55 x 254 + 841 + 48 = 15377: just outside */
	expect("[files]\nper-execution 253\n[concurrency]\ntotal 1\nqueue 55\n"
	    "connections 841\n",
	    "t.policy:6: [concurrency] total 1, queue 55, connections 841 with "
	    "[files] per-execution 253: privd would hold up to 15377 descriptors, "
	    "over its limit of 15376");
	/* the line of the key set last */
	expect("[concurrency]\ntotal 1\nqueue 55\nconnections 841\n[files]\n"
	    "per-execution 253\n",
	    "t.policy:6: [concurrency] total 1, queue 55, connections 841 with "
	    "[files] per-execution 253");
	/* every policy privd could hold before it held connections still fits */
	expect("[files]\nper-execution 233\n[concurrency]\ntotal 5\nqueue 55\n", NULL);
	/* issue 14's case (total 16, per-execution 64) with the default queue (32) fits now */
	expect("[files]\nper-execution 64\n[concurrency]\ntotal 16\n", NULL);
	/* a default asks it: per-execution alone, against total's 2 and queue's 32 */
	expect("[files]\nper-execution 256\n", NULL);
	expect("[concurrency]\ntotal 30\nqueue 64\n", NULL);
	/* everything at its ceiling: frontd's rule, checked first, says so */
	expect("[concurrency]\ntotal 30\nqueue 64\n[files]\nper-execution 256\n",
	    "t.policy:5: [concurrency] connections 256, total 30, queue 64 with [files] "
	    "per-execution 256: frontd");
}

static void
test_frontd_fds(void)
{
	/* connections x 2 + (total + queue + 1) x (per-execution + 3) + 64 against 16384 */
	CHECK(CW_FRONTD_NOFILE == 16384 && CW_FRONTD_FDS_PER_CONN == 2 &&
	    CW_FRONTD_FDS_PER_RUN == 3 && CW_FRONTD_FDS_BASE == 64);
	/* 1024 x 2 + 64 x 223 + 64 = 16384: just inside (privd: 15226) */
	expect("[files]\nper-execution 220\n[concurrency]\ntotal 1\nqueue 62\n"
	    "connections 1024\n", NULL);
	/* 1024 x 2 + 61 x 234 + 64 = 16386: just outside (privd: 15234) */
	expect("[files]\nper-execution 231\n[concurrency]\ntotal 1\nqueue 59\n"
	    "connections 1024\n",
	    "t.policy:6: [concurrency] connections 1024, total 1, queue 59 with [files] "
	    "per-execution 231: frontd would hold up to 16386 descriptors, over its "
	    "limit of 16384");
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
