/*
 * seccomp: one allowlist per daemon, a shared base plus role arrays, default
 * action kill-process, loaded with TSYNC so every thread carries it. There is
 * no fallback: if the filter cannot load, the daemon exits non-zero. The
 * build option sandbox_debug turns the kill into a log (refused in release
 * builds, see meson.build). SECURITY.md lists each array with its reasons.
 */
#ifndef CW_FILTER_H
#define CW_FILTER_H

enum cw_role {
	ROLE_FRONTD,
	ROLE_PRIVD,
	ROLE_SOCKPROXY,
};

/* fatal on any failure */
void	filter_apply(enum cw_role role);

#endif
