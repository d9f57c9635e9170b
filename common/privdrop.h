/*
 * The privilege drop, one straight-line function per daemon (OpenBSD style):
 * resolve the user while NSS still works, open everything needed, then
 * privdrop_apply() switches uid/gid and supplementary groups, verifies the
 * switch cannot be undone, leaves no capability, sets no_new_privs and the
 * rlimits. Every failure is fatal: a daemon never runs half-dropped.
 */
#ifndef CW_PRIVDROP_H
#define CW_PRIVDROP_H

#include <sys/types.h>

struct cw_user {
	char	name[64];
	uid_t	uid;
	gid_t	gid;
	gid_t	extra_gid;	/* one supplementary group, when has_extra */
	int	has_extra;
};

/* getpwnam: call before any seccomp filter. fatal when the user is missing. */
void	privdrop_resolve(const char *name, struct cw_user *u);
/* switch to u; fatal on any failure. nofile: RLIMIT_NOFILE to set. */
void	privdrop_apply(const struct cw_user *u, unsigned long nofile);
/* the uid/gid of a named user or group, or -1 */
int	privdrop_lookup_gid(const char *group, gid_t *gid);

#endif
