/*
 * privd's seccomp allowlist (main.c: never opens the Docker socket or any
 * socket but AF_UNIX). Its HTTP client over AF_UNIX to sockproxy, sealed
 * memfds for what it relays, SCM_RIGHTS on the socketpair, frontd's exit
 * status. No openat, no execve. SECURITY.md gives the reason for each call.
 */
#include <fcntl.h>
#include <sys/socket.h>

#include "filter.h"

static const int privd_syscalls[] = {
	SC(connect), SC(recvfrom), SC(sendto), SC(recvmsg), SC(sendmsg),
	SC(shutdown), SC(memfd_create), SC(pread64), SC(wait4),
};

static const struct filter_rule privd_rules[] = {
	/* a passed input file's access mode */
	FILTER_ARG(fcntl, 1, F_GETFL),
	/* the memfds it relays, sealed; frontd's code memfd checked */
	FILTER_ARG(fcntl, 1, F_ADD_SEALS),
	FILTER_ARG(fcntl, 1, F_GET_SEALS),
	/* sockets: AF_UNIX only (sockproxy) */
	FILTER_ARG(socket, 0, AF_UNIX),
};

FILTER_DAEMON(privd)
