#include "chan.h"

#include <string.h>
#include <unistd.h>

#include "dkstream.h"
#include "util.h"

void
chan_init(struct chan *c, const struct frame_caps *caps)
{
	memset(c, 0, sizeof(*c));
	frame_chan_init(&c->fc, caps);
	frame_rd_init(&c->up, FRAME_UP, &c->fc);
	c->outfd = c->tarfd = c->toolfd = -1;
}

/* one frame of ours: through the grammar first, then out */
static int
send_frame(struct chan *c, int fd, uint8_t type, const void *p, size_t n)
{
	struct frame_hdr h = { type, (uint32_t)n };
	unsigned char hdr[FRAME_HDR];

	if (frame_chan_step(&c->fc, FRAME_DOWN, &h,
	    frame_type_fixed(type) ? p : NULL) != 0) {
		c->why = c->fc.why;
		return -1;
	}
	frame_hdr_write(hdr, type, (uint32_t)n);
	if (cw_write_all(fd, hdr, sizeof(hdr)) != 0 ||
	    (n > 0 && cw_write_all(fd, p, n) != 0)) {
		c->why = "the channel's write failed";
		return -1;
	}
	return 0;
}

/* a memfd's len bytes as pieces of type */
static int
send_pieces(struct chan *c, int fd, uint8_t type, int src, uint64_t len)
{
	unsigned char buf[16384];	/* a piece; a run thread's stack is 256K */
	uint64_t off;
	ssize_t n;

	for (off = 0; off < len; off += (uint64_t)n) {
		size_t want = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);

		if ((n = pread(src, buf, want, (off_t)off)) <= 0) {
			c->why = "an input could not be read";
			return -1;
		}
		if (send_frame(c, fd, type, buf, (size_t)n) != 0)
			return -1;
	}
	return 0;
}

/* a RESULT's payload: the memfd's bytes, in pieces of the stack's size */
static int
copy_out(struct chan *c, int fd, int src, uint64_t len)
{
	unsigned char piece[16384];	/* a run thread's stack is 256K */
	uint64_t done = 0;
	ssize_t got = 1;

	while (done < len && got > 0) {
		got = pread(src, piece, len - done < sizeof(piece) ?
		    (size_t)(len - done) : sizeof(piece), (off_t)done);
		if (got > 0 && cw_write_all(fd, piece, (size_t)got) != 0) {
			c->why = "the channel's write failed";
			return -1;
		}
		done += got > 0 ? (uint64_t)got : 0;
	}
	if (done < len)
		c->why = "the result line could not be read";
	return done < len ? -1 : 0;
}
/*
 * The input's bytes are frontd's link INBOX/INDEX (the same inode as the
 * descriptor privd holds, whose size it checked): the agent copies them
 */
static int
send_link(struct chan *c, int fd, const char *inbox, uint32_t index,
    uint64_t size)
{
	struct frame_link l;
	unsigned char p[FRAME_LINK_LEN];

	memset(&l, 0, sizeof(l));
	memcpy(l.inbox, inbox, FRAME_INBOX_LEN);
	l.index = index;
	l.size = size;
	frame_link_write(p, &l);
	return send_frame(c, fd, FRAME_LINK, p, sizeof(p));
}

/* does an input after i carry i's name? */
static int
named_later(const struct job *job, uint32_t i)
{
	uint32_t k;

	for (k = i + 1; k < job->nfiles; k++)
		if (strcmp(job->files[k].name, job->files[i].name) == 0)
			return 1;
	return 0;
}

/* the request's args, one ARG frame each, in order (monitor.c checked them) */
static int
send_args(struct chan *c, int fd, const struct job *job)
{
	uint32_t off = 0, i;
	size_t n;

	for (i = 0; i < job->argc && off < job->args_len; i++) {
		n = strnlen(job->args + off, job->args_len - off);
		if (send_frame(c, fd, FRAME_ARG, job->args + off, n) != 0)
			return -1;
		off += (uint32_t)n + 1;
	}
	return 0;
}

int
chan_send_job(struct chan *c, int fd, const struct frame_job *fj,
    const struct job *job, int outfd, int tarfd)
{
	unsigned char jb[FRAME_JOB_LEN];
	uint32_t i;

	if (!c->ready) {
		c->why = "the agent is not ready for a job";
		return -1;
	}
	c->outfd = outfd;
	c->tarfd = tarfd;
	c->outlen = c->tarlen = 0;
	c->exited = c->ready = 0;
	memset(&c->exit, 0, sizeof(c->exit));
	frame_job_write(jb, fj);
	if (send_frame(c, fd, FRAME_JOB, jb, sizeof(jb)) != 0)
		return -1;
	for (i = 0; i < job->nfiles; i++) {
		const struct job_file *f = &job->files[i];

		if (named_later(job, i))
			continue;	/* a later input of that name wins */
		if (send_frame(c, fd, FRAME_FILE, f->name, strlen(f->name)) != 0)
			return -1;
		if (job->inbox[0] != '\0') {
			if (send_link(c, fd, job->inbox, i, f->size) != 0)
				return -1;
		} else if (send_pieces(c, fd, FRAME_DATA, f->fd, f->size) != 0)
			return -1;
	}
	if (send_pieces(c, fd, FRAME_CODE, job->code_fd, job->code_len) != 0 ||
	    send_args(c, fd, job) != 0)
		return -1;
	return send_frame(c, fd, FRAME_RUN, NULL, 0);
}

/* STDOUT and STDERR behind Docker's stream header, as an exec's output */
static int
to_output(struct chan *c, int type, const unsigned char *p, size_t n)
{
	unsigned char h[DKSTREAM_HDR];

	dkstream_header(h, type, (uint32_t)n);
	if (cw_write_all(c->outfd, h, sizeof(h)) != 0 ||
	    cw_write_all(c->outfd, p, n) != 0) {
		c->why = "the output memfd's write failed";
		return -1;
	}
	c->outlen += sizeof(h) + n;
	return 0;
}

/* a piece of the program's TOOL line, unparsed, into its memfd */
static int
to_tool(struct chan *c, const unsigned char *p, size_t n)
{
	if (cw_write_all(c->toolfd, p, n) != 0) {
		c->why = "the tool line's memfd write failed";
		return -1;
	}
	c->toollen += n;
	c->toolleft -= n;
	c->tool_done = c->toolleft == 0;	/* worker.c relays it */
	return 0;
}

static int
agent_frame(void *ctx, enum frame_ev ev, const struct frame_hdr *h,
    const unsigned char *p, size_t n)
{
	struct chan *c = ctx;
	const char *why;

	if (ev == FRAME_EV_PIECE) {
		if (h->type == FRAME_STDOUT || h->type == FRAME_STDERR)
			return to_output(c, h->type == FRAME_STDOUT ?
			    DKSTREAM_STDOUT : DKSTREAM_STDERR, p, n);
		if (h->type == FRAME_TOOL)
			return to_tool(c, p, n);
		if (cw_write_all(c->tarfd, p, n) != 0) {
			c->why = "the archive memfd's write failed";
			return -1;
		}
		c->tarlen += n;
		return 0;
	}
	if (h->type == FRAME_EXIT) {
		if (frame_exit_parse(p, n, &c->exit, &why) != 0) {
			c->why = why;
			return -1;
		}
		c->exited = 1;
	} else if (h->type == FRAME_READY) {
		c->hello = 1;
		c->ready = 1;
	} else if (h->type == FRAME_TOOL) {
		/* the grammar lets one TOOL be open: no line is held now */
		if ((c->toolfd = cw_memfd("cw-tool")) < 0) {
			c->why = "no memfd for a tool line";
			return -1;
		}
		c->toollen = 0;
		c->toolleft = h->len;
		c->tool_done = 0;
	}
	return 0;
}

int
chan_feed(struct chan *c, const unsigned char *p, size_t n)
{
	enum frame_result r = frame_rd_feed(&c->up, p, n, agent_frame, c);

	if (r == FRAME_BAD)
		c->why = c->up.why;
	return r == FRAME_OK ? 0 : -1;
}

int
chan_tool_take(struct chan *c, uint64_t *len)
{
	int fd = c->toolfd;

	c->toolfd = -1;
	c->tool_done = 0;
	*len = c->toollen;
	if (fd >= 0 && cw_memfd_seal(fd) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	c->why = "the tool line's memfd could not be sealed";
	return -1;
}

int
chan_send_result(struct chan *c, int fd, int src, uint64_t len)
{
	struct frame_hdr h = { FRAME_RESULT, (uint32_t)len };
	unsigned char hdr[FRAME_HDR];

	if (len > FRAME_LINE_MAX ||
	    frame_chan_step(&c->fc, FRAME_DOWN, &h, NULL) != 0) {
		c->why = c->fc.why != NULL ? c->fc.why : "a RESULT past its cap";
		return -1;
	}
	frame_hdr_write(hdr, FRAME_RESULT, (uint32_t)len);
	if (cw_write_all(fd, hdr, sizeof(hdr)) != 0) {
		c->why = "the channel's write failed";
		return -1;
	}
	return copy_out(c, fd, src, len);
}

void
chan_done(const struct chan *c, const struct job *job,
    struct ipc_exec_done *d)
{
	d->kill = IPC_KILL_NONE;
	d->limit = 0;
	d->exit_code = c->exit.signal != 0 ? 128 + c->exit.signal : c->exit.code;
	switch (c->exit.reason) {
	case FRAME_REASON_TIMEOUT:
		job_done_kill(job, d, IPC_KILL_TIME);
		break;
	case FRAME_REASON_OUTPUT:
		job_done_kill(job, d, IPC_KILL_OUTPUT);
		break;
	case FRAME_REASON_FAILED:
		d->exit_code = -1;
		break;
	default:
		break;
	}
	d->output_len = c->outlen;
	d->archive_len = c->tarlen;
}
