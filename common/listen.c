/*
 * The API's listening socket, bound or inherited (listen.h).
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
cw_listen_bind(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[64], *end;
	const char *colon = strrchr(spec, ':');
	long port;
	int fd, one = 1;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
		snprintf(err, errlen, "'%s' is not ADDR:PORT", spec);
		return -1;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 ||
	    port > 65535) {
		snprintf(err, errlen, "bad port in '%s'", spec);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	if (host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		size_t hl = strlen(host);

		if (hl < 2 || host[hl - 1] != ']') {
			snprintf(err, errlen, "bad address '%s'", host);
			return -1;
		}
		host[hl - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1) {
			snprintf(err, errlen, "bad address '%s'", host + 1);
			return -1;
		}
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
			snprintf(err, errlen, "bad address '%s'", host);
			return -1;
		}
		sl = sizeof(*s4);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, CW_LISTEN_BACKLOG) != 0) {
		snprintf(err, errlen, "bind %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
cw_listen_check(int fd, char *err, size_t errlen)
{
	int type = 0, acc = 0;
	socklen_t tl = sizeof(type), al = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) {
		snprintf(err, errlen, "fd %d is no socket: %s", fd, strerror(errno));
		return -1;
	}
	if (type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) != 0 || !acc) {
		snprintf(err, errlen, "fd %d is not a listening stream socket", fd);
		return -1;
	}
	return 0;
}

int
cw_listen_inherited(char *err, size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	char *end;
	long v;
	int fd;

	if (pid == NULL)
		return -1;
	errno = 0;
	v = strtol(pid, &end, 10);
	if (errno != 0 || end == pid || *end != '\0' || v != (long)getpid())
		return -1;	/* meant for another process: not ours */
	if (n == NULL || strcmp(n, "1") != 0) {
		snprintf(err, errlen, "LISTEN_FDS=%.16s: exactly one listener "
		    "is taken", n == NULL ? "(none)" : n);
		v = -1;
	}
	/* not for the programs this one starts */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (v < 0)
		return -2;
	if (cw_listen_check(CW_LISTEN_FD_FIRST, err, errlen) != 0)
		return -2;
	if ((fd = fcntl(CW_LISTEN_FD_FIRST, F_DUPFD_CLOEXEC, 10)) < 0) {
		snprintf(err, errlen, "F_DUPFD_CLOEXEC: %s", strerror(errno));
		return -2;
	}
	close(CW_LISTEN_FD_FIRST);
	return fd;
}
