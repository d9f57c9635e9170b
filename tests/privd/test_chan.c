/*
 * privd/chan.c without Docker: a job's frames out (checked back by a
 * reader of their direction: JOB, FILE, DATA, CODE, RUN in order, the
 * inputs' bytes from their memfds), the agent's frames in (STDOUT and
 * STDERR into the output memfd behind Docker's stream headers, ARCHIVE
 * into the archive memfd, whole blocks, EXIT into the answer), a job refused before the
 * agent's hello or while one runs, an agent's frame of the other direction
 * refused.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "util.h"

#include "../lib/check.h"

static const struct frame_caps caps = { 1 << 20, 16, 1 << 16, 1 << 20, 1 << 20 };

static int
memfd_with(const char *s)
{
	int fd = cw_memfd("t");

	CHECK(fd >= 0 && cw_write_all(fd, s, strlen(s)) == 0);
	return fd;
}

static void
frame(unsigned char *out, size_t *len, uint8_t type, const void *p, size_t n)
{
	frame_hdr_write(out + *len, type, (uint32_t)n);
	memcpy(out + *len + FRAME_HDR, p, n);
	*len += FRAME_HDR + n;
}

static char seen[256];

static int
down(void *ctx, enum frame_ev ev, const struct frame_hdr *h,
    const unsigned char *p, size_t n)
{
	size_t k = strlen(seen);

	(void)ctx;
	if (ev == FRAME_EV_HEAD)
		snprintf(seen + k, sizeof(seen) - k, "[%02x]", h->type);
	if (h->type == FRAME_FILE && ev == FRAME_EV_HEAD)
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%.*s", (int)n, p);
	if (ev == FRAME_EV_PIECE)
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%.*s", (int)n, p);
	return 0;
}

int
main(void)
{
	static struct job job;
	struct frame_job fj = { 5000, 4096, 8192, 0, "py" };
	struct frame_chan fc;
	struct frame_rd rd;
	struct chan c;
	struct ipc_exec_done d;
	unsigned char buf[2048], ex[FRAME_EXIT_LEN], tar[512];
	struct frame_exit e = { 0, 9, FRAME_REASON_TIMEOUT, 5001 };
	size_t len = 0;
	ssize_t n;
	int sent, outfd, tarfd;

	job.code_fd = memfd_with("print(1)");
	job.code_len = 8;
	job.nfiles = 1;
	snprintf(job.files[0].name, sizeof(job.files[0].name), "in.csv");
	job.files[0].fd = memfd_with("1,2\n");
	job.files[0].size = 4;
	sent = cw_memfd("sent");
	outfd = cw_memfd("out");
	tarfd = cw_memfd("tar");

	chan_init(&c, &caps);
	CHECK(chan_send_job(&c, sent, &fj, &job, outfd, tarfd) == -1);	/* no hello */
	frame(buf, &len, FRAME_READY, NULL, 0);
	CHECK(chan_feed(&c, buf, len) == 0 && c.hello && c.ready);
	CHECK(chan_send_job(&c, sent, &fj, &job, outfd, tarfd) == 0);
	CHECK(chan_send_job(&c, sent, &fj, &job, outfd, tarfd) == -1);	/* one at a time */

	/* what went out, read back through the grammar of its direction */
	frame_chan_init(&fc, &caps);
	frame_rd_init(&rd, FRAME_DOWN, &fc);
	fc.state = FRAME_S_IDLE;
	n = pread(sent, buf, sizeof(buf), 0);
	CHECK(n > 0 && frame_rd_feed(&rd, buf, (size_t)n, down, NULL) == FRAME_OK);
	CHECK(strcmp(seen, "[01][02]in.csv[03]1,2\n[04]print(1)[05]") == 0);

	/* the agent's answer, sockproxy's frames */
	len = 0;
	frame(buf, &len, FRAME_STDOUT, "hi", 2);
	frame(buf, &len, FRAME_STDERR, "oops", 4);
	memset(tar, 'T', sizeof(tar));
	frame(buf, &len, FRAME_ARCHIVE, tar, sizeof(tar));
	frame_exit_write(ex, &e);
	frame(buf, &len, FRAME_EXIT, ex, sizeof(ex));
	CHECK(chan_feed(&c, buf, 5) == 0 && chan_feed(&c, buf + 5, len - 5) == 0);
	CHECK(c.exited && !c.ready && c.exit.signal == 9);
	n = pread(outfd, buf, sizeof(buf), 0);
	CHECK(n == 22 && memcmp(buf, "\1\0\0\0\0\0\0\2hi\2\0\0\0\0\0\0\4oops", 22) == 0);
	n = pread(tarfd, buf, sizeof(buf), 0);
	CHECK(n == 512 && memcmp(buf, tar, 512) == 0);
	memset(&d, 0, sizeof(d));
	job.timeout_ms = 5000;
	chan_done(&c, &job, &d);
	CHECK(d.kill == IPC_KILL_TIME && d.limit == 5000 && d.exit_code == 137 &&
	    d.output_len == 22 && d.archive_len == 512);
	len = 0;
	frame(buf, &len, FRAME_READY, NULL, 0);
	CHECK(chan_feed(&c, buf, len) == 0 && c.ready);

	/* a frame of privd's direction from the agent breaks the channel */
	len = 0;
	frame(buf, &len, FRAME_RUN, NULL, 0);
	CHECK(chan_feed(&c, buf, len) == -1 && c.why != NULL);
	return check_done("chan");
}
