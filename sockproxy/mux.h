/*
 * The exec stream demultiplexer (F14). A non-TTY exec's output is a series
 * of frames: an 8-byte header [type][0][0][0][length, uint32 big-endian],
 * type 1 stdout or 2 stderr, then length bytes. sockproxy parses every header,
 * refuses any other type or non-zero padding, counts each stream against its
 * cap, and hands on payload pieces; the caller writes its own frame header
 * for each piece, so no daemon header byte reaches privd.
 */
#ifndef CW_SP_MUX_H
#define CW_SP_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "sockproxy.h"

#define SP_MUX_STDOUT	1
#define SP_MUX_STDERR	2

/* a payload piece of stream 'type' */
typedef int (*sp_mux_out_fn)(void *ctx, int type, const unsigned char *p,
    size_t n);

enum sp_mux_result {
	SP_MUX_OK = 0,
	SP_MUX_BAD = -1,	/* a malformed header, or out() failed */
	SP_MUX_CAP = -2,	/* a stream passed its cap (bytes up to it went out) */
};

struct sp_mux {
	unsigned char	hdr[8];
	size_t		hlen;
	uint32_t	left;		/* payload bytes of the current frame */
	int		type;
	uint64_t	total[3];	/* by stream */
	uint64_t	cap[3];
	uint64_t	frames;
	char		why[96];
};

void	sp_mux_init(struct sp_mux *m, uint64_t stdout_cap, uint64_t stderr_cap);
enum sp_mux_result sp_mux_feed(struct sp_mux *m, const unsigned char *p,
	    size_t n, sp_mux_out_fn out, void *ctx);
/* 0 if the stream ended on a frame boundary */
int	sp_mux_finish(struct sp_mux *m);

#endif
