/*
 * storeproxy's seccomp allowlist, on common/filter.c's base. Found by
 * strace of the integration tests (tests/storeproxy): what libcurl's
 * plain-HTTP transfers and the socketpair need beyond the base list.
 * HTTPS (OpenSSL reading its CA bundle, getrandom) is not in it yet: an
 * https endpoint is killed by SIGSYS at its first request, never served
 * unfiltered (storeproxy/README.md).
 */
#include <sys/socket.h>
#include <linux/memfd.h>

#include "filter.h"
#include "storeproxy.h"

static const int storeproxy_syscalls[] = {
	/* the socketpair: requests, replies, descriptors */
	SC(recvmsg), SC(sendmsg),
	/* libcurl's plain-HTTP connections (socket by rule below) */
	SC(connect), SC(setsockopt), SC(getsockopt), SC(getsockname),
	SC(getpeername), SC(sendto), SC(recvfrom),
	/* a PUT's bytes read at their offset; seals and flags of a memfd */
	SC(pread64), SC(fcntl),
};

static const struct filter_rule storeproxy_rules[] = {
	FILTER_ARG(socket, 0, AF_INET),
	FILTER_ARG(socket, 0, AF_INET6),
	/* libcurl's wake-up pair of a multi handle */
	FILTER_ARG(socketpair, 0, AF_UNIX),
	FILTER_ARG(memfd_create, 1, MFD_CLOEXEC | MFD_ALLOW_SEALING),
};

FILTER_DAEMON(storeproxy)
