/*
 * seccomp: one allowlist per daemon, kept beside the daemon it confines
 * (frontd/filter.c, privd/filter.c, sockproxy/filter.c) next to the "Never"
 * lines of its main.c. This module holds what they share: the base list
 * (fd I/O, memory, signals, threads, time, exit), filter_build() that adds
 * a daemon's arrays to it, and filter_load(): default action kill-process,
 * TSYNC so every thread carries it, no fallback (any failure is fatal). The
 * build option sandbox_debug turns the kill into a log (refused in release
 * builds, see meson.build). SECURITY.md lists every array with its reasons;
 * tests/security/try_syscall.c checks that each daemon's filter kills its
 * forbidden calls and lets its allowed ones through.
 */
#ifndef CW_FILTER_H
#define CW_FILTER_H

#include <stddef.h>
#include <seccomp.h>

/* one allowed call whose arguments must all match (libseccomp ANDs them) */
struct filter_rule {
	int			nr;
	unsigned int		ncmp;
	struct scmp_arg_cmp	cmp[2];
};

#define FILTER_NELEM(a)		(sizeof(a) / sizeof((a)[0]))
#define SC(name)		SCMP_SYS(name)
/* argument n equals v (and argument m equals w) */
#define FILTER_ARG(name, n, v) \
	{ SC(name), 1, { { (n), SCMP_CMP_EQ, (v), 0 }, { 0, 0, 0, 0 } } }
#define FILTER_ARG2(name, n, v, m, w) \
	{ SC(name), 2, { { (n), SCMP_CMP_EQ, (v), 0 }, \
	    { (m), SCMP_CMP_EQ, (w), 0 } } }
/* argument n has every bit of 'bits' set */
#define FILTER_ARG_SET(name, n, bits) \
	{ SC(name), 1, { { (n), SCMP_CMP_MASKED_EQ, (bits), (bits) }, \
	    { 0, 0, 0, 0 } } }
/* argument n has none of the bits of 'bits' set */
#define FILTER_ARG_CLEAR(name, n, bits) \
	{ SC(name), 1, { { (n), SCMP_CMP_MASKED_EQ, (bits), 0 }, \
	    { 0, 0, 0, 0 } } }

/*
 * A filter of the base list plus a daemon's calls (allowed with any
 * arguments) and rules (allowed only with the arguments each names); fatal
 * on any failure.
 */
scmp_filter_ctx	filter_build(const char *what, const int *calls, size_t ncalls,
		    const struct filter_rule *rules, size_t nrules);
/* load with TSYNC and release the context; fatal on any failure */
void		filter_load(scmp_filter_ctx ctx);

/*
 * A daemon's filter function, from its two arrays 'name'_syscalls and
 * 'name'_rules: each daemon's filter.c ends with FILTER_DAEMON(name).
 */
#define FILTER_DAEMON(name)						\
scmp_filter_ctx								\
name##_filter(void)							\
{									\
	return filter_build(#name, name##_syscalls,			\
	    FILTER_NELEM(name##_syscalls), name##_rules,		\
	    FILTER_NELEM(name##_rules));				\
}

/* each daemon's filter, built (main.c loads it with filter_load) */
scmp_filter_ctx	frontd_filter(void);		/* frontd/filter.c */
scmp_filter_ctx	privd_filter(void);		/* privd/filter.c */
scmp_filter_ctx	sockproxy_filter(void);		/* sockproxy/filter.c */
scmp_filter_ctx	reader_filter(void);		/* policy/reader_filter.c */

#endif
