/*
 * storeproxy's seccomp allowlist, on common/filter.c's base. Found by
 * strace of the integration tests (tests/storeproxy, http and https): what
 * libcurl's transfers and the socketpair need beyond the base list. The CA
 * bundle is read before the filter and handed to libcurl from memory, so
 * no file is opened after start-up (storeproxy/README.md).
 */
#include <sys/socket.h>
#include <linux/memfd.h>

#include "filter.h"
#include "storeproxy.h"

static const int storeproxy_syscalls[] = {
	/* the socketpair: requests, replies, descriptors */
	SC(recvmsg), SC(sendmsg),
	/* libcurl's connections (socket by rule below) */
	SC(connect), SC(setsockopt), SC(getsockopt), SC(getsockname),
	SC(getpeername), SC(sendto), SC(recvfrom),
	/* a PUT's bytes read at their offset; seals and flags of a memfd */
	SC(pread64), SC(fcntl),
	/* OpenSSL's randomness for a TLS handshake */
	SC(getrandom),
};

static const struct filter_rule storeproxy_rules[] = {
	FILTER_ARG(socket, 0, AF_INET),
	FILTER_ARG(socket, 0, AF_INET6),
	/* libcurl's wake-up pair of a multi handle */
	FILTER_ARG(socketpair, 0, AF_UNIX),
	FILTER_ARG(memfd_create, 1, MFD_CLOEXEC | MFD_ALLOW_SEALING),
};

FILTER_DAEMON(storeproxy)
