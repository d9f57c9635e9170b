/*
 * Docker's stream framing for a non-TTY attach or exec, one implementation
 * for every daemon: each frame is an 8-byte header
 *	[type][0][0][0][length, uint32 big-endian]
 * then length bytes of that stream's output. An incremental decoder (bytes
 * in as they arrive, payload pieces out per stream, strict headers) and the
 * header encoder. No policy lives here: which types a reader takes, its caps,
 * and whether a cut stream is an error are the reader's.
 */
#ifndef CW_DKSTREAM_H
#define CW_DKSTREAM_H

#include <stddef.h>
#include <stdint.h>

#define DKSTREAM_HDR		8
#define DKSTREAM_STDIN		0
#define DKSTREAM_STDOUT		1
#define DKSTREAM_STDERR		2
#define DKSTREAM_SYSERR		3	/* the daemon's own error text */
#define DKSTREAM_TYPE(t)	(1u << (t))

/* a payload piece of stream 'type' (never empty); non-zero stops the feed */
typedef int (*dkstream_fn)(void *ctx, int type, const unsigned char *p,
    size_t n);

enum dkstream_result {
	DKSTREAM_OK = 0,
	DKSTREAM_BAD = -1,	/* a header with another type or non-zero padding */
	DKSTREAM_STOP = -2,	/* fn returned non-zero */
};

struct dkstream {
	unsigned int	types;		/* DKSTREAM_TYPE() bits accepted */
	unsigned char	hdr[DKSTREAM_HDR];	/* on BAD: the header refused */
	size_t		hlen;		/* DKSTREAM_HDR while inside a frame */
	uint32_t	left;		/* payload bytes of the current frame */
	int		type;
	int		bad;
	uint64_t	frames;
};

void	dkstream_init(struct dkstream *d, unsigned int types);
/* Feed n bytes. After BAD, every further feed is BAD. */
enum dkstream_result dkstream_feed(struct dkstream *d, const unsigned char *p,
	    size_t n, dkstream_fn fn, void *ctx);
/* 1 if the bytes so far end on a frame boundary */
int	dkstream_at_boundary(const struct dkstream *d);
/* the header of a frame of len bytes of stream type */
void	dkstream_header(unsigned char h[DKSTREAM_HDR], int type, uint32_t len);

#endif
