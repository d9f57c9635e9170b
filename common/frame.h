/*
 * The live channel's frames (issue 15): one binary format for both
 * directions between privd and the agent of a worker (jail/agent.c), checked
 * by sockproxy on its way through (sockproxy/chan.c). Pure: no allocation,
 * no I/O. Every frame is an 8-byte header
 *	[type][flags = 0][reserved = 0, 2 bytes][length, uint32 big-endian]
 * then length bytes of payload. Each type belongs to one direction and has
 * its own payload size (exact, or 1..FRAME_PIECE_MAX for a piece); the
 * state machine (frame_chan_step) says which type is legal when. Anything
 * else is a violation that ends the channel: reject, never repair.
 */
#ifndef CW_FRAME_H
#define CW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR		8
#define FRAME_PIECE_MAX		65536
#define FRAME_JOB_LEN		24	/* timeout, output, archive, flags, lang[8] */
#define FRAME_EXIT_LEN		8	/* code, signal, reason, 0, ms u32 */
#define FRAME_LINK_LEN		48	/* inbox[32] hex, index u32, 0 u32, size u64 */
#define FRAME_INBOX_LEN		32	/* a job's inbox directory: [0-9a-f]{32} */
#define FRAME_LANG_MAX		7	/* [a-z][a-z0-9]{0,6}, NUL padded */
#define FRAME_NAME_MAX		255	/* an input file's path */
#define FRAME_TIMEOUT_MAX	3600000u
#define FRAME_ARG_MAX		4095	/* one argument of the program, no NUL */
#define FRAME_ARGS_MAX		64	/* ARG frames of one job */
#define FRAME_LINE_MAX		(16u << 20)	/* one TOOL or RESULT line */
/*
 * struct frame_job.flags: FRAME_JOB_SESSION, "this job continues the
 * worker's session": the same jail, /mnt/data and, for py, the same live
 * interpreter as the worker's previous session job (the first one starts
 * them). A worker gets it on every job or on none (the agent checks).
 * FRAME_JOB_PTC, "a programmatic job" (issue 17): the program gets fd 3
 * (its TOOL lines) and fd 4 (the RESULT lines); never with a session. Any
 * other bit is a violation.
 */
#define FRAME_JOB_SESSION	0x1u
#define FRAME_JOB_PTC		0x2u
#define FRAME_JOB_FLAGS		(FRAME_JOB_SESSION | FRAME_JOB_PTC)

enum frame_dir { FRAME_DOWN, FRAME_UP };	/* privd -> agent, agent -> privd */

enum frame_type {
	/* privd -> agent */
	FRAME_JOB = 0x01,	/* a job begins: its header */
	FRAME_FILE = 0x02,	/* an input file begins: its path */
	FRAME_DATA = 0x03,	/* a piece of the current input file */
	FRAME_CODE = 0x04,	/* a piece of the program text */
	FRAME_RUN = 0x05,	/* staged: run it */
	FRAME_KILL = 0x06,	/* end the running job (any time; idle: no-op) */
	FRAME_ARG = 0x07,	/* one argument of the program, in order (0..FRAME_ARG_MAX) */
	/*
	 * the current input file's bytes are the inbox's file INBOX/INDEX
	 * (a hard link frontd made of the stored file, bound read-only into
	 * the worker): the agent copies SIZE bytes of it; instead of DATA
	 */
	FRAME_LINK = 0x08,
	FRAME_RESULT = 0x09,	/* one line for the program's fd 4, whole (0..FRAME_LINE_MAX);
				   empty: fd 4 closed. Only after a TOOL it answers */
	/* agent -> privd */
	FRAME_STDOUT = 0x11,
	FRAME_STDERR = 0x12,
	FRAME_ARCHIVE = 0x13,	/* a piece of the ustar of created/changed files */
	FRAME_EXIT = 0x14,	/* how the job ended */
	FRAME_READY = 0x15,	/* ready for the next job (first: hello) */
	FRAME_TOOL = 0x16,	/* one line the program wrote on fd 3, with its "\n"
				   (1..FRAME_LINE_MAX); one at a time, each
				   answered by a RESULT before the next */
};

enum frame_reason {
	FRAME_REASON_NONE = 0,	/* the program ended by itself */
	FRAME_REASON_TIMEOUT,	/* killed at the job's timeout */
	FRAME_REASON_KILLED,	/* killed at privd's KILL */
	FRAME_REASON_OUTPUT,	/* killed at the output cap */
	FRAME_REASON_FAILED,	/* the agent could not stage or start it */
	FRAME_REASON_COUNT
};

struct frame_hdr {
	uint8_t		type;
	uint32_t	len;
};

struct frame_job {
	uint32_t	timeout_ms;	/* 1..FRAME_TIMEOUT_MAX */
	uint32_t	output_max;	/* STDOUT + STDERR bytes, within the caps */
	uint32_t	archive_max;	/* ARCHIVE bytes, within the caps */
	uint32_t	flags;		/* FRAME_JOB_FLAGS bits only */
	char		lang[FRAME_LANG_MAX + 1];
};

struct frame_link {
	char		inbox[FRAME_INBOX_LEN + 1];
	uint32_t	index;
	uint64_t	size;
};

struct frame_exit {
	uint8_t		code;		/* exit status, when not signalled */
	uint8_t		signal;		/* 1..64, or 0 */
	uint8_t		reason;		/* enum frame_reason */
	uint32_t	ms;		/* the program's wall time */
};

enum frame_state {
	FRAME_S_HELLO,		/* the agent's first READY is due */
	FRAME_S_IDLE,		/* privd may send a JOB */
	FRAME_S_STAGE,		/* FILE/DATA/CODE until RUN */
	FRAME_S_RUN,		/* STDOUT/STDERR, then ARCHIVE, EXIT */
	FRAME_S_ARCHIVE,	/* ARCHIVE pieces, then EXIT */
	FRAME_S_EXITED,		/* READY is due */
	FRAME_S_BROKEN,		/* a violation: nothing is legal any more */
};

/* the per-job caps a channel is checked against (0: no job may carry any) */
struct frame_caps {
	uint64_t	input;		/* FILE names and DATA, together */
	uint64_t	files;		/* FILE frames */
	uint64_t	code;		/* CODE */
	uint64_t	output;		/* STDOUT and STDERR, together */
	uint64_t	archive;	/* ARCHIVE */
};

struct frame_chan {
	enum frame_state state;
	struct frame_caps caps;
	int		in_file;	/* a FILE was sent: DATA is legal */
	int		linked;		/* ... and a LINK: nothing more for it */
	int		data;		/* ... and DATA: no LINK for it */
	uint64_t	input, files, code, output, archive, args;
	uint64_t	job_output, job_archive;	/* the open job's caps */
	int		job_ptc;	/* the open job is programmatic */
	uint64_t	tools, results;	/* its TOOL and RESULT frames */
	uint64_t	jobs;
	const char	*why;		/* the violation, once broken */
};

/* the header; 0, or -1 with *why (unknown type, flags, reserved, length) */
int	frame_hdr_parse(const unsigned char h[FRAME_HDR], enum frame_dir dir,
	    struct frame_hdr *out, const char **why);
void	frame_hdr_write(unsigned char h[FRAME_HDR], uint8_t type, uint32_t len);
/* 1 when the payload of this type is one whole value checked at its end */
int	frame_type_fixed(uint8_t type);

/* the fixed payloads: 0, or -1 with *why */
int	frame_job_parse(const unsigned char *p, size_t n, struct frame_job *j,
	    const char **why);
void	frame_job_write(unsigned char p[FRAME_JOB_LEN], const struct frame_job *j);
int	frame_exit_parse(const unsigned char *p, size_t n, struct frame_exit *e,
	    const char **why);
void	frame_exit_write(unsigned char p[FRAME_EXIT_LEN],
	    const struct frame_exit *e);
int	frame_link_parse(const unsigned char *p, size_t n, struct frame_link *l,
	    const char **why);
void	frame_link_write(unsigned char p[FRAME_LINK_LEN],
	    const struct frame_link *l);
/*
 * an input path: relative, UTF-8 without control characters, no empty, .
 * or .. part, not under .codeward
 */
int	frame_name_check(const unsigned char *p, size_t n, const char **why);

void	frame_chan_init(struct frame_chan *c, const struct frame_caps *caps);
/*
 * One frame, its header already parsed for dir, into the grammar; payload
 * is the whole payload for FILE, JOB, LINK and EXIT (checked here), NULL (not
 * looked at) for the others. 0, or -1: the channel is broken from now on.
 */
int	frame_chan_step(struct frame_chan *c, enum frame_dir dir,
	    const struct frame_hdr *h, const unsigned char *payload);

/*
 * An incremental reader of one direction: bytes in as they arrive, each
 * frame's header checked and stepped through the grammar before anything of
 * it comes out. fn gets FRAME_EV_HEAD once per frame (for JOB, FILE and
 * EXIT with the whole payload, checked; otherwise p is NULL), then
 * FRAME_EV_PIECE for each piece of a piece type's payload (never empty).
 */
enum frame_ev { FRAME_EV_HEAD, FRAME_EV_PIECE };
typedef int (*frame_fn)(void *ctx, enum frame_ev ev, const struct frame_hdr *h,
    const unsigned char *p, size_t n);

enum frame_result {
	FRAME_OK = 0,
	FRAME_BAD = -1,		/* a violation: see why */
	FRAME_STOP = -2,	/* fn returned non-zero */
};

struct frame_rd {
	enum frame_dir	dir;
	struct frame_chan *chan;	/* shared by both directions' readers */
	unsigned char	hdr[FRAME_HDR];
	size_t		hlen;		/* FRAME_HDR while inside a frame */
	struct frame_hdr cur;
	uint32_t	left;
	unsigned char	fixed[FRAME_NAME_MAX];
	size_t		flen;
	const char	*why;
};

void	frame_rd_init(struct frame_rd *r, enum frame_dir dir,
	    struct frame_chan *chan);
enum frame_result frame_rd_feed(struct frame_rd *r, const unsigned char *p,
	    size_t n, frame_fn fn, void *ctx);
/* 1 if the bytes so far end on a frame boundary */
int	frame_rd_at_boundary(const struct frame_rd *r);

#endif
