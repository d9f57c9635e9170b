#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

/* the one open the reader's filter allows, argument for argument */
#define READER_OPEN_FLAGS	(O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* the file into a sealed memfd: the memfd, or -1 with *err an errno */
static int
copy_file(const char *path, uint64_t *len, uint32_t *err)
{
	char buf[16384];
	struct stat st;
	int fd, mfd = -1;

	*len = 0;
	if ((fd = open(path, READER_OPEN_FLAGS)) < 0)
		goto fail;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	if ((mfd = cw_memfd("cw-policy")) < 0)
		goto fail;
	/* one byte more than a policy may hold: the loader refuses, never cuts */
	while (*len <= POLICY_MAX) {
		size_t want = POLICY_MAX + 1 - *len;
		ssize_t n = read(fd, buf, want < sizeof(buf) ? want : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		if (cw_write_all(mfd, buf, (size_t)n) != 0)
			goto fail;
		*len += (uint64_t)n;
	}
	if (cw_memfd_seal(mfd) != 0 || lseek(mfd, 0, SEEK_SET) != 0)
		goto fail;
	close(fd);
	return mfd;
fail:
	*err = (uint32_t)(errno != 0 ? errno : EIO);
	if (fd >= 0)
		close(fd);
	if (mfd >= 0)
		close(mfd);
	return -1;
}

void
policy_reader_serve(int sock, const char *path)
{
	for (;;) {
		struct policy_reader_reply rep;
		ssize_t n;
		char b;
		int mfd;

		if ((n = read(sock, &b, 1)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;		/* the daemon is gone */
		memset(&rep, 0, sizeof(rep));
		mfd = copy_file(path, &rep.len, &rep.err);
		if (ipc_send(sock, &rep, sizeof(rep), mfd >= 0 ? &mfd : NULL,
		    mfd >= 0 ? 1 : 0) != 0)
			return;
		if (mfd >= 0)
			close(mfd);
	}
}

void
policy_reader_start(struct policy_reader *r, const char *path,
    const struct cw_user *u)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE };
	pid_t parent = getpid();
	struct cw_user self;
	sigset_t none;
	size_t i;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		fatal("policy_reader_start: socketpair");
	if ((r->pid = fork()) < 0)
		fatal("policy_reader_start: fork");
	if (r->pid > 0) {
		close(sv[1]);
		r->sock = sv[0];
		r->path = path;
		return;
	}

	/* the reader: nothing of its parent but its socket and stderr */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (sv[1] != 3 && dup2(sv[1], 3) != 3)
		_exit(1);
	if (close_range(4, ~0U, 0) != 0)
		_exit(1);
	log_init("policy-reader");
	if (prctl(PR_SET_NAME, POLICY_READER_COMM, 0, 0, 0) != 0)
		fatal("policy_reader_start: PR_SET_NAME");
	self = *u;
	self.has_extra = 0;
	privdrop_apply(&self, 16);
	/* the kernel clears it at the credential change: set it after */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		fatal("policy_reader_start: PR_SET_PDEATHSIG");
	if (getppid() != parent)
		_exit(1);
	filter_load(reader_filter());
	policy_reader_serve(3, path);
	_exit(0);
}

int
policy_reader_fetch(struct policy_reader *r, struct policy *p, int *fd,
    char *err, size_t errlen)
{
	struct policy_reader_reply rep;
	struct pollfd pfd = { .fd = r->sock, .events = POLLIN };
	char buf[sizeof(rep) + 1];
	int fds[IPC_FDS_MAX], rc = -1;
	size_t nfds = 0, i;
	struct stat st;
	ssize_t n;

	if (fd != NULL)
		*fd = -1;
	if (write(r->sock, "r", 1) != 1) {
		snprintf(err, errlen, "%s: the policy reader: %s", r->path,
		    strerror(errno));
		return -1;
	}
	if (poll(&pfd, 1, POLICY_READER_MS) != 1) {
		snprintf(err, errlen, "%s: the policy reader did not answer",
		    r->path);
		return -1;
	}
	if ((n = ipc_recv(r->sock, buf, sizeof(buf), fds, &nfds)) !=
	    (ssize_t)sizeof(rep)) {
		snprintf(err, errlen, "%s: the policy reader's answer is broken",
		    r->path);
		goto out;
	}
	memcpy(&rep, buf, sizeof(rep));
	if (rep.err != 0 || nfds == 0) {
		snprintf(err, errlen, "%s: %s", r->path, rep.err != 0 ?
		    strerror((int)rep.err) : "no descriptor");
		goto out;
	}
	/*
	 * exactly one file of the size it states (the reader sealed it; the
	 * seal is checked where it matters, by frontd when privd hands the
	 * bytes on: sockproxy's filter has no fcntl to ask)
	 */
	if (nfds != 1 || rep.reserved != 0 || fstat(fds[0], &st) != 0 ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != rep.len) {
		snprintf(err, errlen, "%s: the policy reader's answer is broken",
		    r->path);
		goto out;
	}
	if (policy_load_fd(fds[0], r->path, p, err, errlen) != 0)
		goto out;
	if (lseek(fds[0], 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: %s", r->path, strerror(errno));
		goto out;
	}
	if (fd != NULL) {
		*fd = fds[0];
		nfds = 0;
	}
	rc = 0;
out:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return rc;
}
