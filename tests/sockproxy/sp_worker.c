/*
 * privd's side of a worker's channel (privd/worker.c, privd/chan.c, linked
 * as shipped) through sockproxy to the sandbox image's own agent: create
 * and start a worker (privd/docker.c), open its channel with a jail per
 * job, wait for the agent's hello, then two jobs: the first changes one of
 * its two inputs, leaves a file in /tmp and prints; its output stream and
 * archive land in the files named on the command line; the second must
 * not see the first's /tmp file. Then the worker is removed.
 *
 *	sp_worker POLICY SOCKET OUTPUT ARCHIVE
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "docker.h"
#include "worker.h"
#include "util.h"

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, \
    ": %s / %s\n", d.err, c.why != NULL ? c.why : "-"); return 1; } while (0)

static struct dk d;
static struct chan c;

/* the agent's frames until pred holds: 0, or -1 */
static int
pump(int fd, int *flag, uint64_t deadline)
{
	unsigned char buf[65536];
	ssize_t n;

	while (!*flag) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (cw_now_ms() >= deadline || poll(&pf, 1, 1000) < 0)
			return -1;
		if ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) == 0)
			return -1;
		if (n > 0 && chan_feed(&c, buf, (size_t)n) != 0)
			return -1;
	}
	return 0;
}

static int
job_of(struct job *job, const struct policy *p, const char *code)
{
	memset(job, 0, sizeof(*job));
	job->policy = p;
	job->timeout_ms = 10000;
	if ((job->code_fd = cw_memfd("code")) < 0 ||
	    cw_write_all(job->code_fd, code, strlen(code)) != 0)
		return -1;
	job->code_len = strlen(code);
	job->nfiles = 2;
	snprintf(job->files[0].name, sizeof(job->files[0].name), "in.txt");
	snprintf(job->files[1].name, sizeof(job->files[1].name), "same.txt");
	if ((job->files[0].fd = cw_memfd("in")) < 0 ||
	    (job->files[1].fd = cw_memfd("same")) < 0 ||
	    cw_write_all(job->files[0].fd, "x", 1) != 0 ||
	    cw_write_all(job->files[1].fd, "s", 1) != 0)
		return -1;
	job->files[0].size = job->files[1].size = 1;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct job job;
	struct policy p;
	struct frame_caps k;
	struct frame_job fj = { 10000, 1 << 20, 1 << 22, 0, "py" };
	struct ipc_exec_done done;
	char id[DK_ID_LEN + 1], err[256], left[DKH_HEAD_MAX], *buf;
	size_t len, nleft;
	int fd, ofd, tfd, o2, t2;
	uint64_t deadline = cw_now_ms() + 60000;

	if (argc != 5)
		return 2;
	if ((buf = cw_read_file(argv[1], 1 << 20, &len)) == NULL ||
	    policy_parse(buf, len, argv[1], &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "policy: %s\n", err);
		return 1;
	}
	k = (struct frame_caps){ p.workdir_size, p.workdir_files, p.code_max,
	    p.stdout_max + p.stderr_max, 2 * p.workdir_size };
	chan_init(&c, &k);
	if (dk_open(&d, argv[2]) != 0)
		FAIL("dk_open");
	if (dk_create(&d, &p, policy_lang_image(&p, LANG_PY), 0, id) != 0 ||
	    dk_start(&d, id) != 0)
		FAIL("create and start");
	if (worker_chan_open(&d, id, 1, deadline, &fd, left, &nleft) != 0)
		FAIL("channel open");
	if ((nleft > 0 && chan_feed(&c, (unsigned char *)left, nleft) != 0) ||
	    pump(fd, &c.hello, deadline) != 0)
		FAIL("the agent's hello");
	if ((ofd = open(argv[3], O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    (tfd = open(argv[4], O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    (o2 = cw_memfd("o2")) < 0 || (t2 = cw_memfd("t2")) < 0)
		return 1;
	if (job_of(&job, &p, "open('in.txt','a').write('y')\n"
	    "open('/tmp/left','w').write('x')\nprint('hello')\n") != 0 ||
	    chan_send_job(&c, fd, &fj, &job, ofd, tfd) != 0 ||
	    pump(fd, &c.ready, deadline) != 0)
		FAIL("job 1");
	memset(&done, 0, sizeof(done));
	chan_done(&c, &job, &done);
	printf("job 1: exit %d kill %u output %llu archive %llu\n", done.exit_code,
	    done.kill, (unsigned long long)done.output_len,
	    (unsigned long long)done.archive_len);
	if (job_of(&job, &p, "import os, sys\nsys.exit(7 if os.path.exists('/tmp/left') else 5)\n") != 0 ||
	    chan_send_job(&c, fd, &fj, &job, o2, t2) != 0 ||
	    pump(fd, &c.ready, deadline) != 0)
		FAIL("job 2");
	chan_done(&c, &job, &done);
	printf("job 2: exit %d\n", done.exit_code);
	close(fd);
	if (dk_remove(&d, id) != 0)
		FAIL("remove");
	return 0;
}
