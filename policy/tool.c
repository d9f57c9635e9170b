/*
 * codeward-policy: checks a policy file, and makes the few edits the set-up
 * makes (policy/README.md), through the daemons' own parser.
 *
 *   codeward-policy check FILE
 *   codeward-policy set SECTION KEY VALUE [SECTION KEY VALUE]... FILE
 *   codeward-policy pin-images IMAGE-ID FILE
 *
 * A set changes one line (pin-images: the lines of [images]) and keeps
 * every other byte; several are made in their order, each on the result of
 * the one before. Each result must parse, or the file is left as it was and
 * the error is printed as FILE:LINE: message. The new file replaces the old
 * atomically: a temporary file beside it, written, synced, renamed over it,
 * the directory synced.
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
	    "       codeward-policy pin-images IMAGE-ID FILE\n");
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

/* 'path' replaced by buf[0, len), with the mode of the file it replaces */
static int
replace(const char *path, const char *buf, size_t len, mode_t mode)
{
	char tmp[4096], dir[4096];
	int fd, dfd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp) ||
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
	if (close(fd) != 0 || rename(tmp, path) != 0) {
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
	free(buf);
	return rc != 0;
}

/* argv: set (SECTION KEY VALUE)... FILE, or pin-images IMAGE-ID FILE */
static int
edit(int argc, char **argv)
{
	const char *path = argv[argc - 1];
	struct stat st;
	char err[512], *buf, *out;
	size_t len;
	int i, rc;

	if ((buf = load(path, &len, &st)) == NULL)
		return 1;
	if (strcmp(argv[0], "pin-images") == 0) {
		out = policy_edit_pin_images(buf, len, path, argv[1], &len,
		    err, sizeof(err));
		free(buf);
		buf = out;
	}
	for (i = 1; buf != NULL && strcmp(argv[0], "set") == 0 && i + 3 < argc; i += 3) {
		out = policy_edit_set(buf, len, path, argv[i], argv[i + 1],
		    argv[i + 2], &len, err, sizeof(err));
		free(buf);
		buf = out;
	}
	if (buf == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rc = replace(path, buf, len, st.st_mode);
	free(buf);
	return rc != 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return check(argv[2]);
	if ((argc >= 6 && (argc - 3) % 3 == 0 && strcmp(argv[1], "set") == 0) ||
	    (argc == 4 && strcmp(argv[1], "pin-images") == 0))
		return edit(argc - 1, argv + 1);
	usage();
}
