/*
 * sockproxy's seccomp allowlist (main.c: never opens any socket but
 * AF_UNIX). Accept from privd, connect to dockerd, send and receive, one
 * thread per connection; the policy reader's memfd received at a reload. No
 * file is opened after start-up, no descriptor flag is changed (no fcntl).
 * SECURITY.md gives the reason for each call.
 */
#include <sys/socket.h>

#include "filter.h"

static const int sockproxy_syscalls[] = {
	SC(accept4), SC(connect), SC(recvfrom), SC(sendto), SC(recvmsg),
};

static const struct filter_rule sockproxy_rules[] = {
	/* sockets: AF_UNIX only (dockerd) */
	FILTER_ARG(socket, 0, AF_UNIX),
};

FILTER_DAEMON(sockproxy)
