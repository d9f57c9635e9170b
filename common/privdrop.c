#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

void
privdrop_resolve(const char *name, struct cw_user *u)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		fatalx("privdrop_resolve: no user '%s' (./codeward up creates it)", name);
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		fatalx("privdrop_resolve: user '%s' is root", name);
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
}

int
privdrop_lookup_gid(const char *group, gid_t *gid)
{
	struct group *gr;

	if ((gr = getgrnam(group)) == NULL)
		return -1;
	*gid = gr->gr_gid;
	return 0;
}

static int
have_cap(unsigned int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return 0;
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

static void
caps_verify_empty(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		fatal("privdrop: capget");
	if (d[0].effective || d[1].effective || d[0].permitted ||
	    d[1].permitted || d[0].inheritable || d[1].inheritable)
		fatalx("privdrop: capabilities remain after the drop");
}

void
privdrop_apply(const struct cw_user *u, unsigned long nofile)
{
	struct rlimit rl;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	gid_t groups[1];
	int cap, ngroups;

	if (geteuid() != 0)
		fatalx("privdrop: must start as root to drop to '%s'", u->name);

	/* the bounding set, when we may change it (not inside a container
	 * that already dropped CAP_SETPCAP) */
	if (have_cap(CAP_SETPCAP)) {
		for (cap = 0; cap <= 63; cap++)
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
				fatal("privdrop: PR_CAPBSET_DROP %d", cap);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		fatal("privdrop: clear ambient capabilities");

	groups[0] = u->extra_gid;
	if (setgroups(u->has_extra ? 1 : 0, groups) != 0)
		fatal("privdrop: setgroups");
	if (setresgid(u->gid, u->gid, u->gid) != 0)
		fatal("privdrop: setresgid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) != 0)
		fatal("privdrop: setresuid %u", (unsigned)u->uid);

	/* verify: ids switched everywhere, and there is no way back */
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
		fatal("privdrop: getresuid");
	if (ru != u->uid || eu != u->uid || su != u->uid ||
	    rg != u->gid || eg != u->gid || sg != u->gid)
		fatalx("privdrop: ids did not switch");
	ngroups = getgroups(sizeof(groups) / sizeof(groups[0]), groups);
	if (ngroups != (u->has_extra ? 1 : 0) ||
	    (ngroups == 1 && groups[0] != u->extra_gid))
		fatalx("privdrop: supplementary groups did not switch");
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0)
		fatalx("privdrop: could regain root");
	caps_verify_empty();

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fatal("privdrop: PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatal("privdrop: PR_SET_DUMPABLE");

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		fatal("privdrop: RLIMIT_CORE");
	rl.rlim_cur = rl.rlim_max = nofile;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		fatal("privdrop: RLIMIT_NOFILE");
}
