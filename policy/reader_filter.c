/*
 * The policy reader's seccomp allowlist (policy/reader.h): besides the
 * shared base, it opens one file read-only with exactly the flags it uses,
 * copies it into a memfd it seals, and sends that memfd to its daemon. No
 * socket, no connect, no other open, no fcntl but the seal.
 * SECURITY.md gives the reason for each call.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "filter.h"

static const int reader_syscalls[] = {
	SC(sendmsg),
};

static const struct filter_rule reader_rules[] = {
	/* the policy file: read-only, never created, truncated or followed to a tty */
	FILTER_ARG(openat, 2, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK),
	/* the memfd of the bytes, sealed */
	FILTER_ARG(memfd_create, 1, MFD_CLOEXEC | MFD_ALLOW_SEALING),
	FILTER_ARG(fcntl, 1, F_ADD_SEALS),
};

FILTER_DAEMON(reader)
