/*
 * cw-confine — the sandbox's own seccomp filter, then exec. Installed as
 * /usr/local/bin/cw-run and /usr/local/bin/cw-idle (links): called by one of
 * those names it runs the script of that name in /usr/local/lib/codeward
 * with the same arguments; `cw-confine PROGRAM [ARGS...]` runs PROGRAM.
 *
 * Stacked on the engine's profile (filters only ever add up; no_new_privs
 * is already set by the engine's no-new-privileges), it takes away what no
 * program here needs and what the engine's profile still allows, or allows
 * under one runtime and not the other:
 *   - looking into other processes: ptrace, process_vm_readv/writev
 *     (the sandbox's init runs as the same user as the program);
 *   - new namespaces: unshare, setns, clone with any CLONE_NEW* flag
 *     (gVisor's kernel grants user and mount namespaces to anyone);
 *   - mounts, bpf, perf events, userfaultfd, keyrings, modules, kexec,
 *     swap, reboot, accounting, handle-based opens;
 * each answered EPERM; and io_uring and clone3 answered ENOSYS, so the
 * runtimes that try them fall back to what they use everywhere else.
 * cw-idle and cw-run start under it, so the pre-warmed interpreter, the
 * runner, compilers and the program all carry it. If it cannot be loaded,
 * nothing runs (exit 125). Sandbox-side code: the appliance does not rely on
 * it; it narrows what a program can try against the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH	AUDIT_ARCH_AARCH64
#else
#error "cw-confine: unknown architecture"
#endif

#define CLONE_NEW_ANY	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | \
    CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

#define LOAD_NR		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define DENY(nr)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
#define NOSYS(nr)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS)

static struct sock_filter filter[] = {
	/* one architecture, and on x86_64 no x32 calls */
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	LOAD_NR,
#ifdef __x86_64__
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
	/* clone: threads and processes, never a new namespace */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEW_ANY, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	NOSYS(SYS_clone3),
	NOSYS(SYS_io_uring_setup),
	NOSYS(SYS_io_uring_enter),
	NOSYS(SYS_io_uring_register),
	DENY(SYS_ptrace),
	DENY(SYS_process_vm_readv),
	DENY(SYS_process_vm_writev),
	DENY(SYS_unshare),
	DENY(SYS_setns),
	DENY(SYS_mount),
	DENY(SYS_umount2),
	DENY(SYS_pivot_root),
	DENY(SYS_chroot),
	DENY(SYS_open_tree),
	DENY(SYS_move_mount),
	DENY(SYS_fsopen),
	DENY(SYS_fsconfig),
	DENY(SYS_fsmount),
	DENY(SYS_fspick),
	DENY(SYS_bpf),
	DENY(SYS_perf_event_open),
	DENY(SYS_userfaultfd),
	DENY(SYS_keyctl),
	DENY(SYS_add_key),
	DENY(SYS_request_key),
	DENY(SYS_init_module),
	DENY(SYS_finit_module),
	DENY(SYS_delete_module),
	DENY(SYS_kexec_load),
	DENY(SYS_kexec_file_load),
	DENY(SYS_swapon),
	DENY(SYS_swapoff),
	DENY(SYS_reboot),
	DENY(SYS_acct),
	DENY(SYS_open_by_handle_at),
	DENY(SYS_name_to_handle_at),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

/* the names this program answers to, and what each runs */
static const struct {
	const char	*name;
	const char	*script;
} names[] = {
	{ "cw-run", "/usr/local/lib/codeward/cw-run" },
	{ "cw-idle", "/usr/local/lib/codeward/cw-idle" },
};

int
main(int argc, char **argv)
{
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *target = NULL;
	char **args = argv + 1;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(base, names[i].name) == 0) {
			target = names[i].script;
			args = argv;	/* the script sees its own name as $0 */
		}
	if (target == NULL) {
		if (argc < 2) {
			fprintf(stderr, "usage: cw-confine PROGRAM [ARGS...]\n");
			return 125;
		}
		target = argv[1];
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
		perror("cw-confine: seccomp");
		return 125;
	}
	execv(target, args);
	perror("cw-confine: exec");
	return 125;
}
