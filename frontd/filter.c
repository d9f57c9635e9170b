/*
 * frontd's seccomp allowlist (main.c: never reaches Docker, runs a program
 * or opens a socket). The HTTP server on the listener it bound before the
 * drop, the file store below its directory fd, memfds for the code it
 * passes on, SCM_RIGHTS on the socketpair. No socket, connect, bind, listen
 * or execve. SECURITY.md gives the reason for each call.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>

#include "filter.h"

static const int frontd_syscalls[] = {
	SC(accept4), SC(recvfrom), SC(sendto), SC(recvmsg), SC(sendmsg),
	SC(shutdown), SC(getsockopt), SC(getsockname),
	SC(eventfd2),
	SC(openat), SC(mkdirat), SC(unlinkat), SC(renameat), SC(getdents64),
	SC(linkat), SC(fchmod), SC(fchmodat),
	SC(fsync), SC(dup), SC(pread64), SC(sendfile), SC(fstatfs),
	SC(memfd_create), SC(getrandom),
};

static const struct filter_rule frontd_rules[] = {
	/* libmicrohttpd: O_NONBLOCK and close-on-exec of its sockets */
	FILTER_ARG(fcntl, 1, F_GETFL),
	FILTER_ARG(fcntl, 1, F_SETFL),
	FILTER_ARG(fcntl, 1, F_GETFD),
	/* the same, and fdopendir() in the store */
	FILTER_ARG(fcntl, 1, F_SETFD),
	/* the code's memfd, sealed; privd's memfds checked */
	FILTER_ARG(fcntl, 1, F_ADD_SEALS),
	FILTER_ARG(fcntl, 1, F_GET_SEALS),
	/* libmicrohttpd on its connections, nothing else */
	FILTER_ARG2(setsockopt, 1, IPPROTO_TCP, 2, TCP_NODELAY),
	FILTER_ARG2(setsockopt, 1, IPPROTO_TCP, 2, TCP_CORK),
	/* libmicrohttpd names its threads */
	FILTER_ARG(prctl, 0, PR_SET_NAME),
};

FILTER_DAEMON(frontd)
