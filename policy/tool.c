/*
 * codeward-policy: checks a policy file, and makes the few edits the set-up
 * makes (policy/README.md), through the daemons' own parser.
 *
 *   codeward-policy check FILE
 *   codeward-policy set SECTION KEY VALUE [SECTION KEY VALUE]... FILE
 *   codeward-policy pin-images IMAGE-ID FILE
 *   codeward-policy repin NAME IMAGE-ID FILE
 *   codeward-policy diff DEFAULT FILE
 *
 * check prints the file's identity, "policy sha256:HEX (N bytes)". A set
 * changes one line (pin-images: the lines of [images]; repin: the id word
 * of the lines pinned to the id NAME has) and keeps every other byte;
 * several are made in their order, each on the result of the one before,
 * and only the last must parse (runtime runsc, isolation jail and
 * jail-runsc-caps need one another). The file must parse before and the
 * result after, or the file is left as it was and the error is
 * printed as FILE:LINE: message. The new file replaces the old atomically:
 * a temporary file beside it, written, synced, renamed over it, the
 * directory synced; repin keeps the old one as FILE.prev. diff says what
 * FILE changes against DEFAULT and exits like diff(1): 0 the same, 1
 * different, 2 trouble.
 */
#include "policy.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: codeward-policy check FILE\n"
	    "       codeward-policy set SECTION KEY VALUE [SECTION KEY VALUE]... FILE\n"
	    "       codeward-policy pin-images IMAGE-ID FILE\n"
	    "       codeward-policy repin NAME IMAGE-ID FILE\n"
	    "       codeward-policy diff DEFAULT FILE\n");
	exit(2);
}

/* the file's bytes, or NULL having said why */
static char *
load(const char *path, size_t *len, struct stat *st)
{
	char *buf;

	if (stat(path, st) != 0 || (buf = cw_read_file(path, POLICY_MAX, len)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	return buf;
}

/*
 * 'path' replaced by buf[0, len), with the mode of the file it replaces;
 * with 'prev', the file it replaces is kept as PATH.prev (a link to it made
 * just before the rename, an older .prev removed)
 */
static int
replace(const char *path, const char *buf, size_t len, mode_t mode, int prev)
{
	char tmp[4096], dir[4096], old[4096];
	int fd, dfd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp) ||
	    snprintf(old, sizeof(old), "%s.prev", path) >= (int)sizeof(old) ||
	    snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		fprintf(stderr, "%s: path too long\n", path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode & 07777) != 0 || cw_write_all(fd, buf, len) != 0 ||
	    fsync(fd) != 0) {
		fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) != 0) {
		fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (prev && ((unlink(old) != 0 && errno != ENOENT) || link(path, old) != 0)) {
		fprintf(stderr, "%s: %s\n", old, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	rc = 0;
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
out:
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int
check(const char *path)
{
	struct policy p;
	struct stat st;
	char err[512], *buf;
	size_t len;
	int rc;

	if ((buf = load(path, &len, &st)) == NULL)
		return 1;
	if ((rc = policy_parse(buf, len, path, &p, err, sizeof(err))) != 0)
		fprintf(stderr, "%s\n", err);
	else {
		policy_id(buf, len, p.id);
		printf("policy %s (%zu bytes)\n", p.id, len);
	}
	free(buf);
	return rc != 0;
}

/*
 * repin NAME IMAGE-ID FILE: the lines of [images] pinned to the id image
 * NAME has now are pinned to IMAGE-ID; each change printed, the old file
 * kept as FILE.prev. No image NAME, or NAME already at IMAGE-ID: nothing
 * is written (the first is said on stderr), and the exit status is 0.
 */
static int
repin(const char *name, const char *ref, const char *path)
{
	struct policy p;
	struct stat st;
	char err[512], *buf, *out = NULL, *report = NULL;
	size_t len, i;
	int rc = 1;

	if ((buf = load(path, &len, &st)) == NULL)
		return 1;
	if (policy_parse(buf, len, path, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	for (i = 0; i < p.nimages && strcmp(p.images[i].name, name) != 0; i++)
		;
	if (i == p.nimages || strcmp(p.images[i].ref, ref) == 0) {
		if (i == p.nimages)
			fprintf(stderr, "%s: no image '%s' in [images]: nothing to "
			    "re-pin\n", path, name);
		rc = 0;
		goto out;
	}
	if ((out = policy_edit_repin(buf, len, path, p.images[i].ref, ref, &len,
	    &report, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (replace(path, out, len, st.st_mode, 1) == 0) {
		printf("%s", report);
		rc = 0;
	}
out:
	free(report);
	free(out);
	free(buf);
	return rc;
}

/* diff DEFAULT FILE: 0 the same, 1 different, 2 trouble (as diff(1)) */
static int
diff(const char *base, const char *path)
{
	struct stat st;
	char err[512], *b, *f = NULL, *out = NULL;
	size_t blen, flen;
	int rc = 2;

	if ((b = load(base, &blen, &st)) == NULL || (f = load(path, &flen, &st)) == NULL)
		goto out;
	if ((rc = policy_diff(b, blen, base, f, flen, path, &out, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s\n", err);
		rc = 2;
		goto out;
	}
	printf("%s", out);
out:
	free(out);
	free(f);
	free(b);
	return rc;
}

/* argv: set (SECTION KEY VALUE)... FILE, or pin-images IMAGE-ID FILE */
static int
edit(int argc, char **argv)
{
	const char *path = argv[argc - 1];
	struct stat st;
	char err[512], *buf, *out;
	size_t len;
	int rc;

	if ((buf = load(path, &len, &st)) == NULL)
		return 1;
	if (strcmp(argv[0], "pin-images") == 0) {
		out = policy_edit_pin_images(buf, len, path, argv[1], &len,
		    err, sizeof(err));
		free(buf);
		buf = out;
	}
	if (strcmp(argv[0], "set") == 0) {
		out = policy_edit_set_all(buf, len, path, argv + 1,
		    (size_t)argc - 2, &len, err, sizeof(err));
		free(buf);
		buf = out;
	}
	if (buf == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rc = replace(path, buf, len, st.st_mode, 0);
	free(buf);
	return rc != 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return check(argv[2]);
	if (argc == 5 && strcmp(argv[1], "repin") == 0)
		return repin(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "diff") == 0)
		return diff(argv[2], argv[3]);
	if ((argc >= 6 && (argc - 3) % 3 == 0 && strcmp(argv[1], "set") == 0) ||
	    (argc == 4 && strcmp(argv[1], "pin-images") == 0))
		return edit(argc - 1, argv + 1);
	usage();
}
