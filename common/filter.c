#include "filter.h"

#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "util.h"

#ifdef CW_SANDBOX_DEBUG
#define DEFAULT_ACTION	SCMP_ACT_LOG
#else
#define DEFAULT_ACTION	SCMP_ACT_KILL_PROCESS
#endif

/*
 * This list and each daemon's (frontd/filter.c, privd/filter.c,
 * sockproxy/filter.c) hold what the daemons were seen to call under load
 * (strace -f of the whole appliance serving every route and every kind of
 * run, then stopped), plus the few calls of paths a trace rarely meets, each
 * named. SECURITY.md carries the same lists with one line of why per call;
 * the security suite compares the two.
 *
 * Every daemon: fd I/O, memory, signals, threads, time, exit.
 */
static const int base_syscalls[] = {
	SC(read), SC(write), SC(close), SC(lseek), SC(newfstatat), SC(poll),
	SC(brk), SC(munmap), SC(mremap), SC(madvise),
	SC(rt_sigaction), SC(rt_sigprocmask), SC(rt_sigreturn),
	SC(futex), SC(set_robust_list), SC(rseq), SC(exit),
	SC(clock_gettime), SC(clock_nanosleep), SC(restart_syscall),
	SC(getpid), SC(gettid), SC(tgkill), SC(exit_group),
};

#ifdef CW_SANITIZED
/*
 * A sanitizer build only (never a release): what ASan's runtime calls on
 * its own (a thread's alternate signal stack, the CPU set and limits it
 * sizes itself by, its terminal check), and what it needs to write a
 * report that can be read (the process's maps and binary, opened and read
 * when it symbolizes). Leak detection at exit is off in the daemons'
 * tests (ASAN_OPTIONS detect_leaks=0): LeakSanitizer forks a tracer.
 */
static const int sanitizer_syscalls[] = {
	SC(sigaltstack), SC(sched_getaffinity), SC(sched_yield), SC(ioctl),
	SC(getrlimit), SC(prlimit64), SC(open), SC(openat), SC(stat),
	SC(readlink),
};
#endif

/*
 * Memory never becomes executable: no code is loaded after the filter (no
 * dlopen, no NSS module). Threads, never processes: clone only with
 * CLONE_THREAD (fork and posix_spawn lack it).
 */
static const struct filter_rule base_rules[] = {
	FILTER_ARG_CLEAR(mmap, 2, PROT_EXEC),
	FILTER_ARG_CLEAR(mprotect, 2, PROT_EXEC),
	FILTER_ARG_SET(clone, 0, CLONE_THREAD),
};

static void
allow(scmp_filter_ctx ctx, const int *calls, size_t n, const char *what)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (calls[i] < 0)	/* not on this architecture */
			continue;
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0)) != 0)
			fatalx("filter_build: %s syscall %d: %s", what, calls[i],
			    strerror(-r));
	}
}

static void
allow_rules(scmp_filter_ctx ctx, const struct filter_rule *rules, size_t n,
    const char *what)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if ((r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, rules[i].nr,
		    rules[i].ncmp, rules[i].cmp)) != 0)
			fatalx("filter_build: %s rule for syscall %d: %s", what,
			    rules[i].nr, strerror(-r));
	}
}

scmp_filter_ctx
filter_build(const char *what, const int *calls, size_t ncalls,
    const struct filter_rule *rules, size_t nrules)
{
	scmp_filter_ctx ctx;
	int r;

	if ((ctx = seccomp_init(DEFAULT_ACTION)) == NULL)
		fatalx("filter_build: seccomp_init failed");
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0)
		fatalx("filter_build: TSYNC: %s", strerror(-r));
	allow(ctx, base_syscalls, FILTER_NELEM(base_syscalls), "base");
	allow_rules(ctx, base_rules, FILTER_NELEM(base_rules), "base");
#ifdef CW_SANITIZED
	allow(ctx, sanitizer_syscalls, FILTER_NELEM(sanitizer_syscalls), "sanitizer");
#endif
	/*
	 * clone3 keeps its flags in memory a filter cannot read: it fails
	 * with ENOSYS and glibc falls back to clone.
	 */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SC(clone3), 0)) != 0)
		fatalx("filter_build: clone3 rule: %s", strerror(-r));
	allow(ctx, calls, ncalls, what);
	allow_rules(ctx, rules, nrules, what);
	return ctx;
}

void
filter_load(scmp_filter_ctx ctx)
{
	int r;

	/*
	 * glibc's per-thread malloc arenas read /sys/devices/system/cpu/online
	 * when created and /proc/sys/vm/overcommit_memory when they shrink,
	 * long after the filter: one arena for every thread (sanitizer builds
	 * replace malloc and have no arenas). A fixed mmap threshold: glibc
	 * otherwise raises it to the largest block freed (an output buffer), so
	 * later large blocks stay in the heap, and a day of traffic leaves the
	 * resident size at its high-water mark; with it a large block goes back
	 * to the kernel when freed. 32 KiB puts a connection's buffers (a JSON
	 * body, libmicrohttpd's pool) in mappings of their own, and the heap
	 * is trimmed above 64 KiB free down to 16 KiB: after the bench a
	 * daemon's heap held 260-390 KiB of which 20 KiB (frontd 160) was in
	 * use. The cost is a mmap and a munmap per buffer.
	 */
#ifndef CW_SANITIZED
	if (mallopt(M_ARENA_MAX, 1) != 1)
		fatalx("filter_load: mallopt M_ARENA_MAX failed");
	if (mallopt(M_MMAP_THRESHOLD, 32 * 1024) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, 64 * 1024) != 1 ||
	    mallopt(M_TOP_PAD, 16 * 1024) != 1)
		fatalx("filter_load: mallopt M_MMAP_THRESHOLD failed");
#endif
	if ((r = seccomp_load(ctx)) != 0)
		fatalx("filter_load: seccomp_load: %s", strerror(-r));
	seccomp_release(ctx);
}
