/* A few lines of test scaffolding shared by the sockproxy unit tests. */
#ifndef SP_CHECK_H
#define SP_CHECK_H

#include <stdio.h>
#include <string.h>

#include "policy.h"

static int sp_checks, sp_failures;

#define CHECK(c) do {							\
	sp_checks++;							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,	\
		    __LINE__, #c);					\
		sp_failures++;						\
	}								\
} while (0)

#define CHECK_CASE(c, name) do {					\
	sp_checks++;							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: case '%s' failed: %s\n",	\
		    __FILE__, __LINE__, (name), #c);			\
		sp_failures++;						\
	}								\
} while (0)

static inline int
sp_check_done(const char *what)
{
	printf("%s: %d checks, %d failed\n", what, sp_checks, sp_failures);
	return sp_failures != 0;
}

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
		sp_failures++;
	}
}

#endif
