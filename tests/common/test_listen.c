/*
 * common/listen: the API's listener bound from ADDR:PORT, and inherited
 * the way the supervisor and systemd hand it (LISTEN_PID, LISTEN_FDS, fd 3).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

#include "../lib/check.h"

static void
set_env(const char *pid, const char *n)
{
	char self[24];

	snprintf(self, sizeof(self), "%d", (int)getpid());
	setenv("LISTEN_PID", pid != NULL ? pid : self, 1);
	if (n != NULL)
		setenv("LISTEN_FDS", n, 1);
	else
		unsetenv("LISTEN_FDS");
}

/* fd on fd 3, whatever it was */
static void
on_three(int fd)
{
	if (fd == CW_LISTEN_FD_FIRST)
		return;
	CHECK(dup2(fd, CW_LISTEN_FD_FIRST) == CW_LISTEN_FD_FIRST);
	close(fd);
}

int
main(void)
{
	static const char *bad[] = { "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000",
	    "127.0.0.1:80x", "localhost:80", "[::1:80", "[zz]:80", ":80", NULL };
	char err[256];
	int fd, l, i, acc = 0, sv[2];
	socklen_t al = sizeof(acc);

	for (i = 0; bad[i] != NULL; i++)
		CHECK_CASE(cw_listen_bind(bad[i], err, sizeof(err)) == -1 &&
		    err[0] != '\0', bad[i]);

	/* nothing handed: -1, the environment untouched */
	unsetenv("LISTEN_PID");
	CHECK(cw_listen_inherited(err, sizeof(err)) == -1);
	/* handed to another process (a parent's variables): not ours */
	set_env("1", "1");
	CHECK(cw_listen_inherited(err, sizeof(err)) == -1);
	CHECK(getenv("LISTEN_PID") != NULL);

	/* malformed: two sockets, none, no socket on fd 3, a socket not listening */
	set_env(NULL, "2");
	CHECK(cw_listen_inherited(err, sizeof(err)) == -2);
	CHECK(getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL);
	set_env(NULL, NULL);
	CHECK(cw_listen_inherited(err, sizeof(err)) == -2);
	on_three(open("/dev/null", O_RDONLY));
	set_env(NULL, "1");
	CHECK(cw_listen_inherited(err, sizeof(err)) == -2 && strstr(err, "no socket"));
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	on_three(sv[0]);
	set_env(NULL, "1");
	CHECK(cw_listen_inherited(err, sizeof(err)) == -2 &&
	    strstr(err, "not a listening"));
	close(sv[1]);

	/* a listening socket on fd 3: moved above 9, close-on-exec, fd 3 freed */
	l = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(l >= 0 && listen(l, 4) == 0);
	on_three(l);
	set_env(NULL, "1");
	fd = cw_listen_inherited(err, sizeof(err));
	CHECK(fd >= 10);
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	CHECK(fcntl(CW_LISTEN_FD_FIRST, F_GETFD) == -1);
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && acc == 1);
	CHECK(cw_listen_check(fd, err, sizeof(err)) == 0);
	CHECK(getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL);
	close(fd);
	return check_done("test_listen");
}
