/* The sockproxy unit tests' test policy, on top of the shared check header. */
#ifndef SP_CHECK_H
#define SP_CHECK_H

#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "../lib/check.h"

#define SP_TEST_IMAGE \
	"sha256:abababababababababababababababababababababababababababababababab"

/* the shipped defaults with one image and two languages, plus 'extra' lines */
static inline void
sp_test_policy(struct policy *p, const char *sandbox_extra)
{
	char text[2048], err[256];

	snprintf(text, sizeof(text),
	    "[images]\nsandbox " SP_TEST_IMAGE "\n"
	    "[language py]\nimage sandbox\nrunner /usr/local/bin/cw-run py\n"
	    "[language bash]\nimage sandbox\nrunner /usr/local/bin/cw-run bash\n"
	    "[sandbox]\nuser 10001\nmemory 512M\ncpus 1\npids %d\n"
	    "tmp-size 64M\nworkdir-size 256M\n%s\n"
	    "[output]\nstdout 1M\nstderr 1M\n",
	    /* the policy asks gVisor for room for its own threads */
	    sandbox_extra != NULL && strstr(sandbox_extra, "runsc") != NULL ?
	    256 : 128, sandbox_extra != NULL ? sandbox_extra : "");
	if (policy_parse(text, strlen(text), "test", p, err, sizeof(err)) != 0) {
		fprintf(stderr, "test policy: %s\n", err);
		failures++;
	}
}

#endif
