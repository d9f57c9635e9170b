/*
 * Fuzz policy_diff (policy/diff.c) and repin (policy/edit.c, on lines.c)
 * with any bytes, replaying the parser's corpus. The input is the file
 * compared with a small default, and the default compared with itself:
 * every call either fails with a "FILE..." message or says 0 or 1 with a
 * text; a policy compared with itself never departs; a repin either fails
 * or gives a text that parses. Anything else aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define IMG	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMG2	"sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const char base[] =
	"# d\n[images]\n# i\nsandbox @SANDBOX_IMAGE@\n\n# l\n[language py]\n"
	"image sandbox\nrunner /bin/py\n\n[sandbox]\nmemory 512M # m\n"
	"                          # n\npids 128\n";

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy p;
	char err[512], *out, *report;
	size_t outlen;
	int rc;

	memset(err, 'Z', sizeof(err));
	rc = policy_diff(base, sizeof(base) - 1, "b", (const char *)data, size, "f", &out,
	    err, sizeof(err));
	if (rc < 0 && (out != NULL || memchr(err, '\0', sizeof(err)) == NULL ||
	    (strncmp(err, "f", 1) != 0 && strncmp(err, "b", 1) != 0)))
		abort();
	if (rc >= 0 && (out == NULL || (rc == 0) != (out[0] == '\0')))
		abort();
	free(out);
	if (policy_parse((const char *)data, size, "f", &p, err, sizeof(err)) != 0)
		return 0;
	/* a policy that parses is itself, whatever it says */
	if (policy_diff((const char *)data, size, "f", (const char *)data, size, "f", &out,
	    err, sizeof(err)) != 0 || out == NULL || out[0] != '\0')
		abort();
	free(out);
	out = policy_edit_repin((const char *)data, size, "f", IMG, IMG2, &outlen, &report,
	    err, sizeof(err));
	if (out != NULL && (report == NULL ||
	    policy_parse(out, outlen, "f", &p, err, sizeof(err)) != 0))
		abort();
	free(out);
	free(report);
	return 0;
}
