/*
 * A directory and everything in it removed without following a link, for a
 * runsc jail's /tmp (jail_gvisor.c makes it; codeward-jail -u and the root
 * agent's sweep remove it). Its contents are the job's: any shape, any
 * depth, links anywhere, directories of mode 0. So the walk goes by
 * descriptors only, one directory open at a time (down by name, back up by
 * ".."): no recursion, no path, a constant number of descriptors however
 * deep the tree. Run as the sandbox user (the owner of all of it; no
 * capability), so a directory it may not enter is made 0700 first, and
 * nothing it could be led to is anyone else's.
 *
 * gVisor 20221219 follows a final link on openat(O_DIRECTORY|O_NOFOLLOW):
 * each directory opened is checked to be the inode fstatat saw without
 * following (a link swapped in fails).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "jail.h"

/* passes over directories at most: far above what tmp-files lets a job make */
#define RMTREE_STEPS	(1L << 24)

/* NAME in DFD, a directory as ST says, opened for the walk: or -1 */
static int
subdir(int dfd, const char *name, const struct stat *st)
{
	struct stat now;
	int fd;

	if ((st->st_mode & 0700) != 0700 && fchmodat(dfd, name, 0700, 0) == -1)
		return -1;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &now) == -1 || !S_ISDIR(now.st_mode) ||
	    now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		errno = ELOOP;
		return -1;
	}
	return fd;
}

/* one pass over D: what is not a directory unlinked, empty directories
 * removed; the first other directory opened (*down), else 1 when D held
 * nothing, 0 when it did and something went, -1 when nothing would go */
static int
pass(DIR *d, int *down)
{
	struct dirent *e;
	struct stat st;
	int fd = dirfd(d), seen = 0, gone = 0;

	*down = -1;
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		seen++;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;	/* not gone: a pass that removes nothing fails */
		if (!S_ISDIR(st.st_mode)) {
			gone += unlinkat(fd, e->d_name, 0) == 0;
			continue;
		}
		if (unlinkat(fd, e->d_name, AT_REMOVEDIR) == 0) {
			gone++;
			continue;
		}
		if ((*down = subdir(fd, e->d_name, &st)) != -1)
			return 0;
	}
	if (seen == 0)
		return 1;
	return gone > 0 ? 0 : -1;
}

/* everything under the directory open on TOP removed; TOP itself stays */
int
jail_empty(int top)
{
	struct stat ts, st;
	DIR *d;
	long steps;
	int fd, down, rc;

	if (fstat(top, &ts) == -1 || (fd = dup(top)) == -1)
		return -1;
	for (steps = 0; steps < RMTREE_STEPS; steps++) {
		if ((d = fdopendir(fd)) == NULL) {
			close(fd);
			return -1;
		}
		while ((rc = pass(d, &down)) == 0 && down == -1)
			;		/* again, until a pass finds it empty */
		if (rc == -1 && down == -1) {
			closedir(d);
			return -1;	/* something there will not go */
		}
		if (down != -1) {	/* into a directory that was not empty */
			closedir(d);
			fd = down;
			continue;
		}
		/* empty: done at TOP, else back up (its parent removes it) */
		if (fstat(dirfd(d), &st) == -1) {
			closedir(d);
			return -1;
		}
		if (st.st_dev == ts.st_dev && st.st_ino == ts.st_ino) {
			closedir(d);
			return 0;
		}
		fd = openat(dirfd(d), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		closedir(d);
		if (fd == -1)
			return -1;
	}
	close(fd);
	errno = ELOOP;
	return -1;
}

int
jail_rmtree(int dfd, const char *name)
{
	struct stat st;
	int fd, rc;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0);
	if ((fd = subdir(dfd, name, &st)) == -1)
		return -1;
	rc = jail_empty(fd);
	close(fd);
	if (rc == -1)
		return -1;
	return unlinkat(dfd, name, AT_REMOVEDIR);
}
