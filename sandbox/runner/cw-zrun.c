/*
 * cw-zrun SOCKET SCRIPT [ARGS...] — run a Python program in the sandbox's
 * pre-warmed interpreter.
 *
 * Connects to the zygote's unix socket, hands over this process's stdin,
 * stdout and stderr (SCM_RIGHTS) with the script path and its arguments, and
 * exits with the program's status: its exit code, or 128 + the signal that
 * ended it. When no zygote listens (not started, or still importing), it
 * runs `python3 SCRIPT ARGS...` itself, so the result is the same either way,
 * only slower. Sandbox-side code: the appliance does not trust it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REQ_MAX	65536

static void
fallback(char **argv)
{
	argv[0] = "python3";
	execv("/usr/bin/python3", argv);
	perror("cw-zrun: python3");
	_exit(125);
}

int
main(int argc, char **argv)
{
	static char req[REQ_MAX];
	union {
		char		buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr	align;
	} cm;
	struct sockaddr_un sun;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	int fds[3] = { 0, 1, 2 }, s, i;
	size_t len = 0;
	int32_t status;
	ssize_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: cw-zrun SOCKET SCRIPT [ARGS...]\n");
		return 125;
	}
	/* the request: NUL-terminated script and arguments, back to back */
	for (i = 2; i < argc; i++) {
		size_t k = strlen(argv[i]) + 1;

		if (len + k > sizeof(req))
			fallback(argv + 1);
		memcpy(req + len, argv[i], k);
		len += k;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		fallback(argv + 1);
	memcpy(sun.sun_path, argv[1], strlen(argv[1]));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		fallback(argv + 1);

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = req;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)len)
		fallback(argv + 1);	/* nothing ran yet */
	shutdown(s, SHUT_WR);
	/* the program's stdio is now the zygote's child's too: let go */
	close(0);
	close(1);
	close(2);
	do {
		n = read(s, &status, sizeof(status));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(status))
		return 128 + 9;	/* the interpreter died under the program */
	return status >= 0 ? (status & 0xff) : 128 + (-status & 0x7f);
}
