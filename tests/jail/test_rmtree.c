/*
 * jail_rmtree (jail/rmtree.c), a runsc jail's /tmp removed after its job:
 * everything goes, however deep, with directories of mode 0 in it, and no
 * link is followed (what links point at, outside, stays).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "jail.h"

#include "../lib/check.h"

#define DEEP	20000		/* far past PATH_MAX, and any recursion */

static int base;

static int
exists(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void
put(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	CHECK(fd != -1);
	if (fd != -1)
		close(fd);
}

/* outside/{keep, dir/keep}: what the job's links point at */
static void
outside(void)
{
	int fd;

	CHECK(mkdirat(base, "outside", 0700) == 0);
	fd = openat(base, "outside", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd != -1);
	put(fd, "keep");
	CHECK(mkdirat(fd, "dir", 0700) == 0);
	CHECK(symlinkat("../outside/keep", fd, "dir/link") == 0);
	close(fd);
	fd = openat(base, "outside/dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	put(fd, "keep");
	close(fd);
}

static void
test_hostile_tree(void)
{
	char target[64];
	int fd, next, i;

	outside();
	CHECK(mkdirat(base, "t", 0700) == 0);
	fd = openat(base, "t", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd != -1);
	/* links to the outside, a file, a fifo, a mode-0 directory with a file */
	snprintf(target, sizeof(target), "../outside");
	CHECK(symlinkat(target, fd, "to-dir") == 0);
	CHECK(symlinkat("../outside/keep", fd, "to-file") == 0);
	CHECK(symlinkat("/", fd, "to-root") == 0);
	put(fd, "file");
	CHECK(mkfifoat(fd, "fifo", 0600) == 0);
	CHECK(mkdirat(fd, "closed", 0700) == 0);
	next = openat(fd, "closed", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	put(next, "inside");
	CHECK(symlinkat("../../outside/dir", next, "link") == 0);
	close(next);
	CHECK(fchmodat(fd, "closed", 0, 0) == 0);
	/* a chain DEEP directories deep, a file and a link at the bottom */
	for (i = 0; i < DEEP && fd != -1; i++) {
		if (mkdirat(fd, "d", 0700) == -1) {
			CHECK_FAIL("mkdir at depth %d: %s", i, strerror(errno));
			break;
		}
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (i % 1000 == 0) {	/* a file, then not writable nor readable */
			put(fd, "x");
			CHECK(fchmod(fd, i % 2000 == 0 ? 0 : 0500) == 0);
		}
		close(fd);
		fd = next;
	}
	CHECK(fd != -1);
	if (fd != -1) {
		CHECK(symlinkat("/", fd, "up") == 0);
		close(fd);
	}

	CHECK(jail_rmtree(base, "t") == 0);
	CHECK(!exists(base, "t"));
	CHECK(exists(base, "outside/keep"));
	CHECK(exists(base, "outside/dir/keep"));
	CHECK(exists(base, "outside/dir/link"));
}

static void
test_names(void)
{
	/* not there: nothing to do; a link by that name: the link only */
	CHECK(jail_rmtree(base, "absent") == 0);
	CHECK(symlinkat("outside", base, "ln") == 0);
	CHECK(jail_rmtree(base, "ln") == 0);
	CHECK(!exists(base, "ln"));
	CHECK(exists(base, "outside/keep"));
	/* an empty directory, and one that is itself mode 0 */
	CHECK(mkdirat(base, "e", 0) == 0);
	CHECK(jail_rmtree(base, "e") == 0);
	CHECK(!exists(base, "e"));
}

int
main(void)
{
	char dir[] = "/tmp/cw-rmtree-XXXXXX";
	int rc;

	if (mkdtemp(dir) == NULL ||
	    (base = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(dir);
		return 1;
	}
	test_hostile_tree();
	test_names();
	rc = check_done("rmtree");
	CHECK(jail_rmtree(base, "outside") == 0);
	close(base);
	rmdir(dir);
	return rc;
}
