/*
 * dkh_upgrade (privd/dkhttp.c), a worker's channel start, against canned
 * answers from a listener of the test's own: only sockproxy's 101 to
 * "Upgrade: codeward-channel" gives the socket, with the bytes after the
 * head handed over whole; another status, another upgrade, a head without
 * its end, a close before it are refused.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dkhttp.h"
#include "util.h"

#include "../lib/check.h"

static char path[108];

/* a listener that answers one connection with 'ans' after reading the request */
static pid_t
serve(const char *ans, size_t n)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char req[1024];
	pid_t pid;
	int l, c;

	unlink(path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((l = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(l, 1) != 0)
		exit(99);
	if ((pid = fork()) == 0) {
		if ((c = accept(l, NULL, NULL)) < 0)
			_exit(1);
		(void)!read(c, req, sizeof(req));
		(void)!write(c, ans, n);
		usleep(200000);
		_exit(0);
	}
	close(l);
	return pid;
}

static int
try(const char *ans, size_t n, int *fd, int *status, char *left, size_t *nleft)
{
	pid_t pid = serve(ans, n);
	int r = dkh_upgrade(path, "/v1.41/exec/x/channel", cw_now_ms() + 5000, fd,
	    status, left, nleft);

	waitpid(pid, NULL, 0);
	return r;
}

int
main(void)
{
	static const char good[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "X-Codeward-Generation: 0123\r\nConnection: Upgrade\r\n"
	    "Upgrade: codeward-channel\r\n\r\n\x15\0\0\0\0\0\0\0";
	static char big[DKH_HEAD_MAX + 64];
	char left[DKH_HEAD_MAX];
	size_t nleft = 0;
	int fd = -1, st = 0;

	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "/tmp/cw-upgrade-%d.sock", (int)getpid());
	CHECK(try(good, sizeof(good) - 1, &fd, &st, left, &nleft) == DKH_OK &&
	    st == 101 && fd >= 0 && nleft == 8 && memcmp(left, "\x15\0\0\0\0\0\0\0", 8) == 0);
	if (fd >= 0)
		close(fd);
	CHECK(try("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 45, &fd, &st,
	    left, &nleft) == DKH_ERR_PROTOCOL && st == 404);
	CHECK(try("HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\n\r\n", 51, &fd, &st,
	    left, &nleft) == DKH_ERR_PROTOCOL && st == 101);
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 101 x\r\nX: ", 19);
	CHECK(try(big, sizeof(big), &fd, &st, left, &nleft) == DKH_ERR_PROTOCOL);
	CHECK(try("HTTP/1.1 101 Switch", 19, &fd, &st, left, &nleft) == DKH_ERR_IO);
	unlink(path);
	return check_done("upgrade");
}
