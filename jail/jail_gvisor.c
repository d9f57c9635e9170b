/*
 * The jail under gVisor (Debian bookworm's runsc, release 20221219), whose
 * kernel has no mount namespace: unshare(CLONE_NEWNS) is accepted and
 * changes nothing (a mount made after it is seen by every process of the
 * container), and a user namespace may not mount at all. So codeward-jail
 * -u starts as root in gVisor's own kernel, in a worker created with
 * CapAdd SYS_ADMIN, SYS_CHROOT, SETUID, SETGID and SETPCAP (the Sentry's
 * capabilities, not the host's), and builds the tree jail_mounts() makes,
 * under a directory of its own, then chroots the program into it:
 *
 *   /                the image's read-only root, bound without its submounts
 *   /dev             the container's /dev, bound without /dev/pts, /dev/shm
 *   /tmp             a fresh directory of the jail's own on the worker's /tmp
 *   /dev/shm         fresh tmpfs (size only: gVisor's tmpfs refuses nr_inodes)
 *   /proc            fresh, of the jail's pid namespace (mounted by its init)
 *   /mnt/data        the staging directory, bound as its owner
 *
 * The trees live in a root-only tmpfs on JAIL_GVISOR_TREES, one directory
 * per helper; the jailed program's / has nothing there. The waiting parent
 * keeps its capabilities to take its tree down after the program's pid
 * namespace is gone; init and the program drop to the sandbox uid with an
 * empty bounding set before anything of the program runs.
 *
 * /tmp: gVisor's own tmpfs refuses nr_inodes, but the worker's /tmp is the
 * volume sockproxy makes under runsc, a host tmpfs of the policy's tmp-size
 * and tmp-files, 0700 and the sandbox user's, which no jail reaches. Each
 * jail gets a directory there (JAIL_GVISOR_TMP_PREFIX, its helper's pid and
 * 64 random bits: made with mkdir, never found), made and checked as the
 * sandbox user (0700, its own, the inode fstatat saw without following),
 * bound on the tree's /tmp, so the policy's caps are the volume's. The
 * helper removes it with all in it after the program's pid namespace is
 * gone (jail_rmtree: by descriptors, no link followed), as the sandbox
 * user; what a killed helper leaves, the agent's sweep removes
 * (agent_root.c). The volume holds one jail's /tmp at a time: a worker
 * runs one job at a time, and a session's worker only its session.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/magic.h>

#include "jail.h"

#define JAIL_GVISOR_TREES	"/srv"

static char tmp_name[64];	/* this jail's directory in the worker's /tmp */

static int
fail(const char *what)
{
	dprintf(STDERR_FILENO, "codeward-jail: %s: %s\n", what, strerror(errno));
	return -1;
}

static int
caps(struct __user_cap_data_struct d[2], int set)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return (int)syscall(set ? SYS_capset : SYS_capget, &h, d);
}

/* the root-only tmpfs the trees go in, mounted by the first helper */
static int
trees(void)
{
	struct statfs sf;

	if (statfs(JAIL_GVISOR_TREES, &sf) == -1)
		return fail(JAIL_GVISOR_TREES);
	if (sf.f_type == TMPFS_MAGIC)
		return 0;
	if (mount("tmpfs", JAIL_GVISOR_TREES, "tmpfs", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, "size=1048576,mode=0700") == -1)
		return fail("tmpfs on " JAIL_GVISOR_TREES);
	return 0;
}

/* euid UID with CAP_SYS_ADMIN raised again: what is made is UID's, and
 * root needs no DAC_OVERRIDE, the checks being made as UID */
static int
as_user(uid_t uid)
{
	struct __user_cap_data_struct d[2];

	if (seteuid(uid) == -1)
		return fail("seteuid");
	if (caps(d, 0) == -1)
		return fail("capget");
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	if (caps(d, 1) == -1)
		return fail("capset");
	return 0;
}

static void
as_root(void)
{
	if (seteuid(0) == -1)
		jail_die("seteuid back");
}

/* as UID: DIR (its, 0700) on mnt/data */
static int
bind_workdir(const struct jail_conf *c, uid_t uid)
{
	struct stat st;
	int rc = -1;

	if (as_user(uid) == -1)
		goto out;
	if (stat(c->workdir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != uid) {
		dprintf(STDERR_FILENO, "codeward-jail: %s: not a directory "
		    "of uid %u\n", c->workdir, uid);
		goto out;
	}
	if (mount(c->workdir, "mnt/data", NULL, MS_BIND, NULL) == -1) {
		fail("bind the work directory");
		goto out;
	}
	rc = 0;
out:
	as_root();
	return rc;
}

/* as UID: a fresh directory (its, 0700) on the worker's /tmp, bound on tmp;
 * the worker's /tmp must be a directory no one else may write to */
static int
bind_tmp(uid_t uid)
{
	char src[sizeof(tmp_name) + sizeof(JAIL_GVISOR_TMP)];
	unsigned char r[8];
	struct stat top, st, at;
	int dfd = -1, fd = -1, rc = -1;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return fail("getrandom");
	if (as_user(uid) == -1)
		goto out;
	if ((dfd = open(JAIL_GVISOR_TMP, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(dfd, &top) == -1 ||
	    lstat(JAIL_GVISOR_TMP, &st) == -1) {
		fail(JAIL_GVISOR_TMP);
		goto out;
	}
	if (!S_ISDIR(st.st_mode) || st.st_dev != top.st_dev ||
	    st.st_ino != top.st_ino || (top.st_mode & 022) != 0 ||
	    (top.st_uid != uid && top.st_uid != 0)) {
		dprintf(STDERR_FILENO, "codeward-jail: " JAIL_GVISOR_TMP
		    ": not a directory only uid %u or root may write to\n", uid);
		goto out;
	}
	snprintf(tmp_name, sizeof(tmp_name), JAIL_GVISOR_TMP_PREFIX
	    "%ld-%02x%02x%02x%02x%02x%02x%02x%02x", (long)getpid(), r[0], r[1],
	    r[2], r[3], r[4], r[5], r[6], r[7]);
	if (mkdirat(dfd, tmp_name, 0700) == -1) {
		tmp_name[0] = '\0';	/* not ours to remove */
		fail("mkdir in " JAIL_GVISOR_TMP);
		goto out;
	}
	if ((fd = openat(dfd, tmp_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(fd, &st) == -1 ||
	    fstatat(dfd, tmp_name, &at, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(at.st_mode) || at.st_dev != st.st_dev ||
	    at.st_ino != st.st_ino || st.st_uid != uid ||
	    fchmod(fd, 0700) == -1) {
		fail("the jail's directory in " JAIL_GVISOR_TMP);
		goto out;
	}
	snprintf(src, sizeof(src), JAIL_GVISOR_TMP "/%s", tmp_name);
	if (mount(src, "tmp", NULL, MS_BIND, NULL) == -1) {
		fail("bind the jail's /tmp");
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	as_root();
	return rc;
}

static int
tmpfs(const char *target, uint64_t size)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%llu,mode=1777",
	    (unsigned long long)size);
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, opts) == -1)
		return fail(target);
	return 0;
}

static int
tree(const struct jail_conf *c, char *path, size_t len)
{
	int lock, rc = -1;

	if ((lock = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    flock(lock, LOCK_EX) == -1)
		return fail("lock");
	if (trees() == -1)
		goto out;
	snprintf(path, len, JAIL_GVISOR_TREES "/%ld", (long)getpid());
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		fail(path);
		goto out;
	}
	if (mount("/", path, NULL, MS_BIND, NULL) == -1 || chdir(path) == -1) {
		fail("bind /");
		goto out;
	}
	if (mount("/dev", "dev", NULL, MS_BIND, NULL) == -1) {
		fail("bind /dev");
		goto out;
	}
	if (bind_tmp(c->uid) == -1 ||
	    tmpfs("dev/shm", c->shm_size) == -1 ||
	    bind_workdir(c, c->uid) == -1)
		goto out;
	rc = 0;
out:
	close(lock);
	return rc;
}

int
jail_gvisor_unshare(const struct jail_conf *c, char *path, size_t len)
{
	path[0] = '\0';
	if (getuid() != 0) {
		errno = EPERM;
		return -1;	/* -u is for a helper started as root */
	}
	/* no CLONE_NEWNS: it would be accepted and change nothing */
	if (unshare(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
	    CLONE_NEWNET) == -1)
		return -1;
	if (tree(c, path, len) == -1) {
		int err = errno;

		if (path[0] != '\0')
			jail_gvisor_release(c, path);
		errno = err;
		return -1;
	}
	return 0;
}

/* in the jail's pid namespace, the cwd its tree: /proc, then chroot */
int
jail_gvisor_enter(void)
{
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1)
		return fail("mount /proc");
	if (chroot(".") == -1)
		return fail("chroot");
	return 0;
}

/* the jail's /tmp removed with all in it, as the sandbox user */
static void
remove_tmp(uid_t uid)
{
	int dfd;

	if (tmp_name[0] == '\0' || seteuid(uid) == -1)
		return;
	if ((dfd = open(JAIL_GVISOR_TMP, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		if (jail_rmtree(dfd, tmp_name) == 0)
			tmp_name[0] = '\0';
		close(dfd);
	}
	as_root();
}

/* the tree down, innermost first; what stays busy goes when its last user
 * does; then the jail's /tmp (what is left, the agent's sweep removes) */
void
jail_gvisor_release(const struct jail_conf *c, const char *path)
{
	static const char *const inner[] = {
		"mnt/data", "dev/shm", "dev", "tmp", "proc",
	};
	size_t i;

	if (chdir(path) == 0) {
		for (i = 0; i < sizeof(inner) / sizeof(inner[0]); i++)
			umount2(inner[i], MNT_DETACH | UMOUNT_NOFOLLOW);
		if (chdir("/") == 0) {
			umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
			rmdir(path);
		}
	}
	remove_tmp(c->uid);
}

/* every capability gone for good, then UID:GID; or exit 125 */
void
jail_gvisor_drop(uid_t uid, gid_t gid)
{
	struct __user_cap_data_struct d[2];

	jail_drop_bounding();
	if (setgroups(0, NULL) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		jail_die("drop to %u:%u", uid, gid);
	if (caps(d, 0) == -1)
		jail_die("capget");
	if ((d[0].effective | d[0].permitted | d[0].inheritable |
	    d[1].effective | d[1].permitted | d[1].inheritable) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
		jail_diex("a capability survived the drop");
}
