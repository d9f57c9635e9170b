/*
 * codeward-agent started as root: the worker under runsc with the policy's
 * jail-runsc-caps (sockproxy creates it as 0:0 with gVisor's own SYS_ADMIN,
 * SYS_CHROOT, SETUID, SETGID and SETPCAP, and runs the agent's channel exec
 * as 0:0). Decided once, from getuid() at start, never from a job's frames.
 *
 * The agent then works as the sandbox user, the owner of /mnt/data: its
 * effective uid and gid are that user's and root stays its real and saved
 * uid, so it stages, snapshots and archives with the sandbox user's rights
 * (root without DAC_OVERRIDE could not enter the 0700 /mnt/data) and
 * nothing it writes is root's. Only a jail's child takes euid 0 back, to
 * run codeward-jail -u UID:GID, which builds the jail as root and drops its
 * init and the program to UID:GID with no capability (jail_gvisor.c).
 *
 * Signals: with real uid 0 and effective uid the sandbox user's, the agent
 * may signal both the helper (real uid 0) and the job's processes (the
 * sandbox user's); a job, the sandbox user in a pid namespace of its own,
 * sees no process of the agent's and may signal none (its real and saved
 * uid are 0).
 *
 * A helper killed by the agent (a timeout, privd's KILL, a session's end)
 * cannot take its tree down; the agent does, after each job: every tree
 * under JAIL_GVISOR_TREES but the live session jail's is detached and
 * removed, its mounts innermost first; and so is every jail's directory
 * in the worker's /tmp but the live session jail's (jail_gvisor.c), as the
 * sandbox user, with all in it (jail_rmtree: no link followed).
 *
 * Only with -j: a root agent without a jail refuses to start. The
 * pre-warmed jail is not made (agent.c).
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "agent.h"
#include "jail.h"

#define ROOT_TREES	"/srv"		/* jail_gvisor.c's JAIL_GVISOR_TREES */

int agent_root;				/* started as root: the runsc form */
static uid_t sb_uid;
static gid_t sb_gid;
static char sb_ids[32];			/* "UID:GID", -u's argument */

int
agent_root_init(int jailed)
{
	struct stat st;

	if (getuid() != 0)
		return 0;
	if (!jailed || stat(AGENT_WORKDIR, &st) < 0 || st.st_uid == 0 ||
	    st.st_gid == 0)
		return -1;		/* never root's jobs, never unjailed */
	sb_uid = st.st_uid;
	sb_gid = st.st_gid;
	snprintf(sb_ids, sizeof(sb_ids), "%u:%u", (unsigned)sb_uid,
	    (unsigned)sb_gid);
	if (setgroups(0, NULL) < 0 || setresgid(0, sb_gid, 0) < 0 ||
	    setresuid(0, sb_uid, 0) < 0 || geteuid() != sb_uid ||
	    getegid() != sb_gid)
		return -1;
	agent_root = 1;
	return 0;
}

size_t
agent_jail_argv(char **argv, char *dir)
{
	size_t n = 0;

	argv[n++] = (char *)AGENT_JAIL;
	if (agent_root) {
		argv[n++] = (char *)"-u";
		argv[n++] = sb_ids;
	}
	argv[n++] = (char *)"-t";
	argv[n++] = agent_sizes.tmp;
	argv[n++] = (char *)"-s";
	argv[n++] = agent_sizes.shm;
	argv[n++] = (char *)"-f";
	argv[n++] = agent_sizes.files;
	argv[n++] = (char *)"-w";
	argv[n++] = dir;
	argv[n++] = (char *)"--";
	return n;
}

void
agent_root_child(void)
{
	if (!agent_root)
		return;
	/* back to root for codeward-jail -u; it drops the program itself */
	if (seteuid(0) < 0 || setegid(0) < 0)
		_exit(125);
}

/* one tree down: what jail_gvisor_release() would have done */
static void
tree_down(int dfd, const char *name)
{
	static const char *const inner[] = {
		"mnt/data", "dev/shm", "dev", "tmp", "proc",
	};
	char path[sizeof(ROOT_TREES) + 256 + 16];
	size_t i;

	for (i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
		snprintf(path, sizeof(path), ROOT_TREES "/%s/%s", name, inner[i]);
		umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	}
	snprintf(path, sizeof(path), ROOT_TREES "/%s", name);
	umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

/* "PREFIX<pid>-..." a jail's /tmp: its helper's pid, else 0 */
static long
tmp_pid(const char *name)
{
	size_t n = sizeof(JAIL_GVISOR_TMP_PREFIX) - 1;
	char *end;
	long pid;

	if (strncmp(name, JAIL_GVISOR_TMP_PREFIX, n) != 0 ||
	    name[n] < '1' || name[n] > '9')
		return 0;
	pid = strtol(name + n, &end, 10);
	return *end == '-' ? pid : 0;
}

/* as the sandbox user: every jail's /tmp but KEEP's */
static void
tmp_sweep(pid_t keep)
{
	struct dirent *e;
	long pid;
	DIR *d;
	int fd;

	if ((fd = open(JAIL_GVISOR_TMP, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if ((pid = tmp_pid(e->d_name)) == 0 ||
		    (keep > 0 && pid == (long)keep))
			continue;
		jail_rmtree(dirfd(d), e->d_name);
	}
	closedir(d);
}

void
agent_root_sweep(pid_t keep)
{
	struct dirent *e;
	char *end;
	long pid;
	DIR *d;

	if (!agent_root || seteuid(0) < 0)
		return;
	if ((d = opendir(ROOT_TREES)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			pid = strtol(e->d_name, &end, 10);
			if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
			    *end != '\0' || (keep > 0 && pid == (long)keep))
				continue;
			tree_down(dirfd(d), e->d_name);
		}
		closedir(d);
	}
	if (seteuid(sb_uid) < 0)
		_exit(70);		/* never go on as root */
	tmp_sweep(keep);
}
