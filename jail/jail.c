/*
 * The jail itself: namespaces, the caller's ids mapped inside, a private
 * mount tree with fresh /tmp, /dev/shm and /mnt/data (and /proc when asked),
 * loopback up in an empty network namespace, and the filter that keeps the
 * jailed program from making namespaces or mounts of its own.
 *
 * No capability is needed: an unprivileged user namespace gives this process
 * the capabilities it uses here, over its own namespaces only, and the
 * program loses them at execve (it runs as the same non-zero uid).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <seccomp.h>

#include "jail.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME	0x00000080
#endif

/* Docker's masked and read-only paths, kept on a fresh /proc */
static const char *const masked[] = {
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi",
};
static const char *const readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* namespace flags the program may not pass to clone or unshare */
static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
	CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME,
};

static void __attribute__((noreturn, format(printf, 2, 0)))
vdie(int err, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err != 0)
		dprintf(STDERR_FILENO, "codeward-jail: %s: %s\n", msg,
		    strerror(err));
	else
		dprintf(STDERR_FILENO, "codeward-jail: %s\n", msg);
	_exit(125);
}

void
jail_die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vdie(err, fmt, ap);
}

void
jail_diex(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(0, fmt, ap);
}

static int
write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, s, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

int
jail_unshare(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (uid == 0) {
		errno = EPERM;
		return -1;	/* never root: the mapping keeps the uid */
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
	    CLONE_NEWUTS | CLONE_NEWNET) == -1)
		return -1;
	/* gVisor (2022) has no setgroups file, nor setgroups to deny */
	if (write_file("/proc/self/setgroups", "deny") == -1 && errno != ENOENT)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", uid, uid);
	if (write_file("/proc/self/uid_map", map) == -1)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", gid, gid);
	return write_file("/proc/self/gid_map", map);
}

static int
tmpfs(const char *target, uint64_t size, uint32_t files, const char *mode)
{
	char opts[128];

	snprintf(opts, sizeof(opts), "size=%llu,nr_inodes=%u,mode=%s",
	    (unsigned long long)size, files, mode);
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, opts) == -1) {
		dprintf(STDERR_FILENO, "codeward-jail: tmpfs on %s: %s\n",
		    target, strerror(errno));
		return -1;
	}
	return 0;
}

/* the source's own flags kept: a user namespace may not clear them */
static unsigned long
locked_flags(const char *src)
{
	static const struct { unsigned long st, ms; } map[] = {
		{ ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID },
		{ ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME },
	};
	struct statvfs sv;
	unsigned long flags = 0;
	size_t i;

	if (statvfs(src, &sv) == -1)
		return 0;	/* the remount below then fails and says so */
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (sv.f_flag & map[i].st)
			flags |= map[i].ms;
	return flags;
}

static int
bind_mount(const char *src, const char *target, unsigned long flags)
{
	flags |= locked_flags(src);
	if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) == -1 ||
	    mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | flags, NULL) == -1) {
		dprintf(STDERR_FILENO, "codeward-jail: bind %s on %s: %s\n",
		    src, target, strerror(errno));
		return -1;
	}
	return 0;
}

/* a fresh /proc for the new pid namespace, masked as Docker masks its own */
static int
proc(void)
{
	struct stat st;
	size_t i;

	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1) {
		dprintf(STDERR_FILENO, "codeward-jail: mount /proc: %s\n",
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		if (stat(masked[i], &st) == -1) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", masked[i], "tmpfs", MS_RDONLY |
			    MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") == -1)
				return -1;
		} else if (bind_mount("/dev/null", masked[i], MS_RDONLY | MS_NOSUID |
		    MS_NOEXEC) == -1)
			return -1;
	}
	for (i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
		if (access(readonly[i], F_OK) == -1 && errno == ENOENT)
			continue;
		if (bind_mount(readonly[i], readonly[i], MS_RDONLY | MS_NOSUID |
		    MS_NODEV | MS_NOEXEC) == -1)
			return -1;
	}
	return 0;
}

int
jail_loopback_up(void)
{
	struct ifreq ifr;
	int s, rc = -1;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		goto out;
	if (ifr.ifr_flags & IFF_UP) {	/* gVisor's: up, and no SIOCSIFFLAGS */
		rc = 0;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1)
		goto out;
	rc = 0;
out:
	close(s);
	return rc;
}

int
jail_mounts(const struct jail_conf *c)
{
	struct stat st;

	/* nothing mounted here reaches the container's tree, nor back */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
		dprintf(STDERR_FILENO, "codeward-jail: private /: %s\n",
		    strerror(errno));
		return -1;
	}
	if (stat(c->workdir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != getuid()) {
		dprintf(STDERR_FILENO, "codeward-jail: %s: not a directory "
		    "of uid %u\n", c->workdir, getuid());
		return -1;
	}
	if (tmpfs("/tmp", c->tmp_size, c->files, "1777") == -1 ||
	    tmpfs("/dev/shm", c->shm_size, c->files, "1777") == -1 ||
	    bind_mount(c->workdir, JAIL_WORKDIR, MS_NOSUID | MS_NODEV) == -1)
		return -1;
	/*
	 * The worker's inbox (frontd's links to the inputs of every run,
	 * policy inputs inbox) is the agent's: the jail sees an empty,
	 * read-only directory there, which its filter keeps it from unmounting.
	 */
	if (stat(JAIL_INBOX, &st) == 0 && S_ISDIR(st.st_mode) &&
	    mount("tmpfs", JAIL_INBOX, "tmpfs", MS_RDONLY | MS_NOSUID |
	    MS_NODEV | MS_NOEXEC, "size=0,mode=0555") == -1) {
		dprintf(STDERR_FILENO, "codeward-jail: hide %s: %s\n", JAIL_INBOX,
		    strerror(errno));
		return -1;
	}
	if (c->proc && proc() == -1)
		return -1;
	if (jail_loopback_up() == -1) {
		dprintf(STDERR_FILENO, "codeward-jail: loopback up: %s\n",
		    strerror(errno));
		return -1;
	}
	return chdir(JAIL_WORKDIR);
}

int
jail_filter(void)
{
	static const int denied[] = {
		SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(mount),
		SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(open_tree),
		SCMP_SYS(move_mount), SCMP_SYS(fsopen), SCMP_SYS(fsmount),
		SCMP_SYS(fsconfig), SCMP_SYS(fspick), SCMP_SYS(mount_setattr),
	};
	scmp_filter_ctx ctx;
	size_t i;
	int rc = -1;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return -1;
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i],
		    0) != 0)
			goto out;
	for (i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone),
		    1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i],
		    ns_flags[i])) != 0)
			goto out;
	/* clone3's flags are behind a pointer: glibc falls back to clone */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	    0) != 0)
		goto out;
	if (seccomp_load(ctx) != 0)
		goto out;
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

/*
 * The bounding set emptied, or exit: in the runc jail the program's user
 * namespace gave it every capability there, which execve as a non-zero uid
 * takes from the effective and permitted sets but not from the bounding
 * set; nothing the program runs may get one back.
 */
void
jail_drop_bounding(void)
{
	int cap;

	/* only those still in it: dropping needs CAP_SETPCAP, even twice */
	for (cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			jail_die("drop the bounding set");
}

int jail_keep_ptc;

/* every descriptor from first on closed: 0 or -1 */
static int
close_from(unsigned int first)
{
	struct rlimit rl;
	rlim_t fd;

	if (syscall(SYS_close_range, first, ~0U, 0U) == 0)
		return 0;
	/* gVisor before 2023 has no close_range */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1U << 20))
		return -1;
	for (fd = first; fd < rl.rlim_max; fd++)
		close((int)fd);
	return 0;
}

/* no descriptor above 2 (above 4 with -k), and no privilege to gain by
 * execve, or exit */
void
jail_seal(void)
{
	if (close_from(jail_keep_ptc ? 5U : 3U) == -1)
		jail_die("close_range");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		jail_die("no_new_privs");
}

int
jail_close_fds(void)
{
	return close_from(3U);
}
