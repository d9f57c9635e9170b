/*
 * Policy edits (policy/edit.c): the edited file is compared byte for byte
 * with what it must be, so every byte the edit should keep (comments, blank
 * lines, spacing, the order of the lines) is checked; a refused edit gives
 * no text and the exact FILE:LINE message.
 *
 * argv[1], when given, is the shipped default.policy: pin-images fills its
 * placeholder and changes nothing else. repin changes the id word of the
 * lines pinned to the old id and no other byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"


#include "../lib/check.h"

#define IMG	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMG2	"sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define IMG3	"sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* a small policy with comments everywhere an edit could disturb them */
#define HEAD \
	"# top comment\n" \
	"\n" \
	"[images]\n" \
	"sandbox   " IMG "   # the one image\n" \
	"\n" \
	"[language py]\n" \
	"image sandbox\n" \
	"runner /usr/local/bin/cw-run py\n" \
	"\n"
#define SANDBOX \
	"[sandbox]\n" \
	"# the limits\n" \
	"memory\t512M  # RAM\n" \
	"pids 128 # processes\n" \
	"\n"
#define TAIL \
	"# the clients\n" \
	"[auth]\n" \
	"mode api-key  # keys only\n"
#define BASE HEAD SANDBOX TAIL

struct edit {
	const char	*what;
	const char	*in;
	const char	*section, *key, *value;
	const char	*out;		/* NULL: refused with 'err' */
	const char	*err;
};

static const struct edit edits[] = {
	{ "a key changed: only its line differs", BASE, "sandbox", "memory", "1G",
	    HEAD "[sandbox]\n# the limits\nmemory          1G\npids 128 # processes\n\n" TAIL,
	    NULL },
	{ "a key of a language section", BASE, "language py", "runner",
	    "/usr/local/bin/cw-run py -u",
	    "# top comment\n\n[images]\nsandbox   " IMG "   # the one image\n\n"
	    "[language py]\nimage sandbox\nrunner          /usr/local/bin/cw-run py -u\n\n"
	    SANDBOX TAIL, NULL },
	{ "a header written with other blanks",
	    "[images]\nsandbox " IMG "\n[ language\tpy ]\nimage sandbox\nrunner /bin/x\n",
	    "language  py", "runner", "/bin/y",
	    "[images]\nsandbox " IMG "\n[ language\tpy ]\nimage sandbox\n"
	    "runner          /bin/y\n", NULL },
	{ "a blank around the section", BASE, " language py", "runner", "/bin/x", NULL,
	    "t.policy: section ' language py': a name such as auth or 'language py'" },
	{ "an image repinned", BASE, "images", "sandbox", IMG2,
	    "# top comment\n\n[images]\nsandbox         " IMG2 "\n\n[language py]\n"
	    "image sandbox\nrunner /usr/local/bin/cw-run py\n\n" SANDBOX TAIL, NULL },
	{ "a key added after the section's last setting", BASE, "sandbox", "swap", "1G",
	    HEAD "[sandbox]\n# the limits\nmemory\t512M  # RAM\npids 128 # processes\n"
	    "swap            1G\n\n" TAIL, NULL },
	{ "a key added to a section that has none", HEAD "[time]\n# nothing yet\n\n" TAIL,
	    "time", "max", "2m",
	    HEAD "[time]\nmax             2m\n# nothing yet\n\n" TAIL, NULL },
	{ "a key added at the end of a file with no last newline",
	    HEAD "[auth]\nmode api-key", "auth", "keys", "/etc/k",
	    HEAD "[auth]\nmode api-key\nkeys            /etc/k", NULL },
	{ "a missing section added at the end", BASE, "concurrency", "total", "8",
	    BASE "\n[concurrency]\ntotal           8\n", NULL },
	{ "a missing section after a last line with no newline", HEAD "[auth]\nmode api-key",
	    "time", "max", "2m", HEAD "[auth]\nmode api-key\n\n[time]\nmax             2m\n",
	    NULL },
	{ "a long key keeps one space", BASE, "auth", "jwt-public-key", "/etc/j.pem",
	    HEAD SANDBOX "# the clients\n[auth]\nmode api-key  # keys only\n"
	    "jwt-public-key  /etc/j.pem\n", NULL },

	/* refused: the value, key or section does not parse */
	{ "a value that does not parse", BASE, "sandbox", "memory", "512MB", NULL,
	    "t.policy:12: '512MB': unknown size unit 'MB' (use K, M or G)" },
	{ "a value past its ceiling", BASE, "sandbox", "memory", "65G", NULL,
	    "t.policy:12: memory 65G is above the ceiling of 64G" },
	{ "a value that breaks another line", BASE, "sandbox", "runtime", "runsc", NULL,
	    "t.policy:13: pids 128 is too low for runtime runsc: gVisor's own threads "
	    "count against it (60 to 90 per sandbox); at least 256" },
	{ "an added value that does not parse", BASE, "sandbox", "swap", "lots", NULL,
	    "t.policy:14 (the line this edit adds): 'lots' is not a size: a whole number "
	    "with an optional K, M or G (e.g. 512M)" },
	{ "an unknown key", BASE, "sandbox", "memroy", "1G", NULL,
	    "t.policy:14 (the line this edit adds): unknown key 'memroy' in [sandbox]" },
	{ "an unknown section", BASE, "sandbx", "memory", "1G", NULL,
	    "t.policy:19 (the line this edit adds): unknown section 'sandbx' (images, "
	    "language, sandbox, time, output, files, concurrency, auth, metrics)" },
	{ "an unknown language", BASE, "language cobol", "image", "sandbox", NULL,
	    "t.policy:19 (the line this edit adds): unknown language 'cobol' (py js ts "
	    "c cpp java php rs go d f90 r bash)" },
	{ "a file that is wrong already", BASE "[auth]\n", "sandbox", "memory", "1G", NULL,
	    "t.policy:18: [auth] appears twice (first at line 16)" },

	/* refused before the file is read: what would change the file's shape */
	{ "a comment in the value", BASE, "sandbox", "memory", "1G # more", NULL,
	    "t.policy: value '1G # more': printable ASCII on one line, with no '#'" },
	{ "a newline in the value", BASE, "auth", "mode", "none\n[metrics]", NULL,
	    "t.policy: value 'none\n[metrics]': printable ASCII on one line, with no '#'" },
	{ "an empty value", BASE, "auth", "mode", "", NULL,
	    "t.policy: value '': printable ASCII on one line, with no '#'" },
	{ "two words for a key", BASE, "sandbox", "memory size", "1G", NULL,
	    "t.policy: key 'memory size': one word" },
	{ "a header for a key", BASE, "sandbox", "[auth]", "1G", NULL,
	    "t.policy: key '[auth]': one word" },
	{ "a bracket in the section", BASE, "auth]\n[sandbox", "memory", "1G", NULL,
	    "t.policy: section 'auth]\n[sandbox': a name such as auth or 'language py'" },
};

static void
test_edits(void)
{
	size_t i, inlen, outlen;
	char err[512], *out, *copy;

	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		const struct edit *e = &edits[i];

		inlen = strlen(e->in);
		copy = strdup(e->in);
		strcpy(err, "unset");
		out = policy_edit_set(copy, inlen, "t.policy", e->section, e->key,
		    e->value, &outlen, err, sizeof(err));
		CHECK(memcmp(copy, e->in, inlen + 1) == 0);	/* the input is not written */
		if (e->out != NULL && (out == NULL || outlen != strlen(e->out) ||
		    memcmp(out, e->out, outlen) != 0)) {
			fprintf(stderr, "%s: got\n%.*s\n(%s)\nwant\n%s\n", e->what,
			    out ? (int)outlen : 0, out ? out : "", out ? "" : err, e->out);
			failures++;
		}
		if (e->out == NULL && (out != NULL || strcmp(err, e->err) != 0)) {
			fprintf(stderr, "%s: got %s\nwant %s\n", e->what,
			    out ? "an edit" : err, e->err);
			failures++;
		}
		checks++;
		free(out);
		free(copy);
	}
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* pin-images: the template's placeholder line and no other */
static void
test_pin(const char *path)
{
	static const char line[] = "\nsandbox         " IMG "\n";
	struct policy p;
	char err[512], *buf, *out, *again, *at;
	size_t len, outlen, alen;

	if ((buf = slurp(path, &len)) == NULL) {
		fprintf(stderr, "%s: cannot read\n", path);
		failures++;
		return;
	}
	CHECK(policy_parse(buf, len, "default.policy", &p, err, sizeof(err)) != 0);
	out = policy_edit_pin_images(buf, len, "default.policy", IMG, &outlen, err, sizeof(err));
	CHECK(out != NULL);
	if (out == NULL) {
		fprintf(stderr, "pin-images: %s\n", err);
		free(buf);
		return;
	}
	CHECK(policy_parse(out, outlen, "default.policy", &p, err, sizeof(err)) == 0);
	CHECK(p.nimages == 1 && strcmp(p.images[0].ref, IMG) == 0);
	/* everything before and after the one line is the template's */
	at = strstr(out, line);
	CHECK(at != NULL);
	if (at != NULL) {
		size_t pre = (size_t)(at - out) + 1, post = outlen - pre - (sizeof(line) - 2);
		const char *tline = buf + pre;

		CHECK(memcmp(out, buf, pre) == 0);
		CHECK(strncmp(tline, "sandbox         @SANDBOX_IMAGE@\n", 32) == 0);
		CHECK(post == len - pre - 32 && memcmp(at + sizeof(line) - 1, tline + 32, post) == 0);
	}
	/* a pinned file pins again, to another id */
	again = policy_edit_pin_images(out, outlen, "default.policy", IMG2, &alen, err, sizeof(err));
	CHECK(again != NULL && alen == outlen && strstr(again, IMG2) != NULL &&
	    strstr(again, IMG) == NULL);
	free(again);
	/* refused: an id that is not one, and a file with no [images] */
	CHECK(policy_edit_pin_images(buf, len, "default.policy", "codeward-sandbox:current",
	    &alen, err, sizeof(err)) == NULL);
	CHECK(strncmp(err, "default.policy:", 15) == 0 &&
	    strstr(err, ": image 'sandbox': 'codeward-sandbox:current' is not an image id") != NULL);
	CHECK(policy_edit_pin_images(buf, len, "default.policy", IMG " x", &alen, err,
	    sizeof(err)) == NULL);
	CHECK(strcmp(err, "default.policy: image id '" IMG " x': one word") == 0);
	CHECK(policy_edit_pin_images("[sandbox]\n", 10, "t.policy", IMG, &alen, err,
	    sizeof(err)) == NULL);
	CHECK(strcmp(err, "t.policy: no image in [images] to pin") == 0);
	free(out);
	free(buf);
}

/*
 * repin: only the id word of the lines pinned to the old id changes (the
 * line's padding and comment stay), an image pinned elsewhere is left, each
 * change is reported; a file that is wrong, or a new id that is not one, is
 * refused.
 */
static void
test_repin(void)
{
	static const char two[] =
	    "[images]\n"
	    "sandbox\t" IMG "\t# built by up\n"
	    "mine      " IMG2 "  # the admin's own\n"
	    "again " IMG "\n"
	    "\n[language py]\nimage mine\nrunner /bin/py\n";
	static const char want[] =
	    "[images]\n"
	    "sandbox\t" IMG3 "\t# built by up\n"
	    "mine      " IMG2 "  # the admin's own\n"
	    "again " IMG3 "\n"
	    "\n[language py]\nimage mine\nrunner /bin/py\n";
	char err[512], *out, *report;
	size_t outlen;

	out = policy_edit_repin(BASE, strlen(BASE), "t.policy", IMG, IMG2, &outlen,
	    &report, err, sizeof(err));
	CHECK(out != NULL && report != NULL);
	if (out != NULL) {
		const char *at = strstr(BASE, IMG);

		CHECK(outlen == strlen(BASE) && memcmp(out, BASE, (size_t)(at - BASE)) == 0 &&
		    memcmp(out + (at - BASE), IMG2, strlen(IMG2)) == 0 &&
		    memcmp(out + (at - BASE) + strlen(IMG2), at + strlen(IMG),
		    strlen(at + strlen(IMG))) == 0);
		CHECK(strcmp(report, "t.policy:4: sandbox " IMG " -> " IMG2 "\n") == 0);
		free(out);
		free(report);
	}
	out = policy_edit_repin(two, strlen(two), "t.policy", IMG, IMG3, &outlen,
	    &report, err, sizeof(err));
	CHECK(out != NULL && outlen == strlen(want) && memcmp(out, want, outlen) == 0);
	CHECK(report != NULL && strcmp(report, "t.policy:2: sandbox " IMG " -> " IMG3 "\n"
	    "t.policy:4: again " IMG " -> " IMG3 "\n") == 0);
	free(out);
	free(report);
	/* no line pinned to the old id: the same text, nothing reported */
	out = policy_edit_repin(BASE, strlen(BASE), "t.policy", IMG3, IMG2, &outlen,
	    &report, err, sizeof(err));
	CHECK(out != NULL && outlen == strlen(BASE) && memcmp(out, BASE, outlen) == 0 &&
	    report != NULL && report[0] == '\0');
	free(out);
	free(report);
	/* refused */
	CHECK(policy_edit_repin(BASE "[auth]\n", strlen(BASE) + 7, "t.policy", IMG, IMG2,
	    &outlen, &report, err, sizeof(err)) == NULL && report == NULL);
	CHECK(strcmp(err, "t.policy:18: [auth] appears twice (first at line 16)") == 0);
	CHECK(policy_edit_repin(BASE, strlen(BASE), "t.policy", IMG, "codeward-sandbox:current",
	    &outlen, &report, err, sizeof(err)) == NULL && report == NULL);
	CHECK(strncmp(err, "t.policy:4: image 'sandbox': 'codeward-sandbox:current' is not "
	    "an image id", 66) == 0);
	CHECK(policy_edit_repin(BASE, strlen(BASE), "t.policy", IMG, IMG2 " x",
	    &outlen, &report, err, sizeof(err)) == NULL);
	CHECK(strcmp(err, "t.policy: image id '" IMG2 " x': one word") == 0);
}

int
main(int argc, char **argv)
{
	test_edits();
	test_repin();
	if (argc > 1)
		test_pin(argv[1]);
	printf("%zu edits\n", sizeof(edits) / sizeof(edits[0]));
	return check_done("test_edit");
}
