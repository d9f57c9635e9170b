/*
 * What a policy changes against the default (policy/diff.c), compared with
 * the exact text it must print: every key whose effective value differs,
 * and no other; the default's comment for each (the lines above the key,
 * its own, the indented lines that go on from it; else its section's, said
 * once); spacing, comments, the order of lines, other units for the same
 * value and a key written with its default value are no departure; the
 * default's image placeholder is pinned to the file's own id.
 *
 * argv[1], when given, is the shipped default.policy: the shipped default
 * pinned is the same as itself, and `memory 256M` is exactly one departure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

#include "../lib/check.h"

#define IMG	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMG2	"sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* a default with a comment in every place one can be */
#define BASE \
	"# top\n" \
	"\n" \
	"[images]\n" \
	"# the images\n" \
	"sandbox         @SANDBOX_IMAGE@\n" \
	"\n" \
	"# what every language says\n" \
	"[language py]\n" \
	"image           sandbox\n" \
	"runner          /bin/py\n" \
	"\n" \
	"[language bash]\n" \
	"image           sandbox\n" \
	"runner          /bin/sh\n" \
	"\n" \
	"[sandbox]\n" \
	"# the limits\n" \
	"# of one sandbox\n" \
	"memory          512M    # RAM\n" \
	"pids            128\n" \
	"\n" \
	"# how many at once\n" \
	"[concurrency]\n" \
	"sessions        8       # stateful\n" \
	"                        # and it goes on\n" \
	"session-idle    10m\n"

/* the same policy written otherwise: other blanks and units, no comments */
#define SAME \
	"[concurrency]\nsession-idle 600s\nsessions\t8\n" \
	"[sandbox]\npids 128\nmemory 524288K\nuser 10001\n" \
	"[language bash]\nrunner /bin/sh\nimage sandbox\n" \
	"[language py]\nimage sandbox\nrunner   /bin/py\n" \
	"[images]\nsandbox " IMG "   # pinned\n"

struct diffcase {
	const char	*what;
	const char	*file;
	int		rc;
	const char	*out;		/* rc -1: the error */
};

static const struct diffcase cases[] = {
	{ "written otherwise, the same policy", SAME, 0, "" },
	{ "empty sections are no departure",
	    SAME "[time]\n[output]\n" "[auth]\n", 0, "" },
	{ "every kind of comment",
	    "[images]\nsandbox " IMG "\nmore " IMG2 "\n"
	    "[language py]\nimage sandbox\nrunner /bin/py\n"
	    "[language bash]\nimage more\nrunner /bin/bash -e\n"
	    "[sandbox]\nmemory 1G\npids 64\n"
	    "[concurrency]\nsessions 0\nsession-idle 5m\n", 1,
	    "[language bash] image: sandbox -> more\n"
	    "    # what every language says\n"
	    "[language bash] runner: /bin/sh -> /bin/bash -e\n"
	    "[sandbox] memory: 512M -> 1G\n"
	    "    # the limits\n"
	    "    # of one sandbox\n"
	    "    # RAM\n"
	    "[sandbox] swap: 512M -> 1G\n"	/* unwritten: it follows memory */
	    "[sandbox] pids: 128 -> 64\n"
	    "[concurrency] sessions: 8 -> 0\n"
	    "    # stateful\n"
	    "    # and it goes on\n"
	    "[concurrency] session-idle: 10m -> 5m\n"
	    "    # how many at once\n"
	    "[images] more: (absent) -> " IMG2 "\n" },
	{ "a language and the image gone, a key the default does not write",
	    "[images]\nmine " IMG "\n[language py]\nimage mine\nrunner /bin/py\n"
	    "[sandbox]\nmemory 512M\npids 128\n[concurrency]\nsessions 8\n"
	    "[auth]\njwt-issuer someone\n", 1,
	    "[images] sandbox: @SANDBOX_IMAGE@ -> (absent)\n"
	    "    # the images\n"
	    "[language py] image: sandbox -> mine\n"
	    "    # what every language says\n"
	    "[language bash] image: sandbox -> (absent)\n"
	    "[language bash] runner: /bin/sh -> (absent)\n"
	    "[auth] jwt-issuer: librechat -> someone\n"
	    "[images] mine: (absent) -> " IMG "\n" },
	{ "a file that does not parse", SAME "[sandbox]\n", -1,
	    "f.policy:16: [sandbox] appears twice (first at line 4)" },
};

static void
test_cases(void)
{
	size_t i;
	char err[512], *out;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct diffcase *c = &cases[i];

		strcpy(err, "unset");
		rc = policy_diff(BASE, strlen(BASE), "b.policy", c->file, strlen(c->file),
		    "f.policy", &out, err, sizeof(err));
		CHECK_CASE(rc == c->rc, c->what);
		if (rc >= 0 && (out == NULL || strcmp(out, c->out) != 0))
			CHECK_FAIL("%s: got\n%s\nwant\n%s", c->what, out ? out : "(null)", c->out);
		if (rc < 0)
			CHECK_CASE(out == NULL && strcmp(err, c->out) == 0, c->what);
		if (rc < 0 && strcmp(err, c->out) != 0)
			fprintf(stderr, "%s: got %s\n", c->what, err);
		free(out);
	}
	/* a default that is wrong otherwise than its placeholder */
	rc = policy_diff(BASE "total 999\n", strlen(BASE) + 10, "b.policy", SAME, strlen(SAME),
	    "f.policy", &out, err, sizeof(err));
	CHECK(rc == -1 && out == NULL &&
	    strcmp(err, "b.policy:27: total 999 is above the ceiling of 30") == 0);
}

/* the shipped default: pinned, it is itself; memory 256M is one departure */
static void
test_shipped(const char *path)
{
	char err[512], *buf, *pinned, *edited, *out;
	size_t len, plen, elen;

	if ((buf = cw_read_file(path, POLICY_MAX, &len)) == NULL) {
		CHECK_FAIL("%s: cannot read", path);
		return;
	}
	pinned = policy_edit_pin_images(buf, len, "codeward.policy", IMG, &plen, err, sizeof(err));
	CHECK(pinned != NULL);
	if (pinned == NULL) {
		free(buf);
		return;
	}
	CHECK(policy_diff(buf, len, "default.policy", pinned, plen, "codeward.policy", &out,
	    err, sizeof(err)) == 0 && strcmp(out, "") == 0);
	free(out);
	edited = policy_edit_set(pinned, plen, "codeward.policy", "sandbox", "memory", "256M",
	    &elen, err, sizeof(err));
	CHECK(edited != NULL);
	if (edited != NULL) {
		CHECK(policy_diff(buf, len, "default.policy", edited, elen, "codeward.policy",
		    &out, err, sizeof(err)) == 1);
		CHECK(out != NULL && strcmp(out, "[sandbox] memory: 512M -> 256M\n"
		    "    # RAM; a program above it is killed (out of memory)\n") == 0);
		free(out);
	}
	free(edited);
	free(pinned);
	free(buf);
}

int
main(int argc, char **argv)
{
	test_cases();
	if (argc > 1)
		test_shipped(argv[1]);
	return check_done("test_diff");
}
