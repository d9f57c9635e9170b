/*
 * The exec stream demultiplexer (F14). A non-TTY exec's output is a series
 * of frames: an 8-byte header [type][0][0][0][length, uint32 big-endian],
 * type 1 stdout or 2 stderr, then length bytes. The framing is common/dkstream;
 * the policy is here: sockproxy parses every header, refuses any other type
 * (3, the daemon's error text, too) or non-zero padding, counts each stream
 * against its cap, and hands on payload pieces; the caller writes its own
 * frame header for each piece, so no daemon header byte reaches privd.
 */
#ifndef CW_SP_MUX_H
#define CW_SP_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "dkstream.h"
#include "sockproxy.h"

#define SP_MUX_STDOUT	DKSTREAM_STDOUT
#define SP_MUX_STDERR	DKSTREAM_STDERR

/* a payload piece of stream 'type' */
typedef int (*sp_mux_out_fn)(void *ctx, int type, const unsigned char *p,
    size_t n);

enum sp_mux_result {
	SP_MUX_OK = 0,
	SP_MUX_BAD = -1,	/* a malformed header, or out() failed */
	SP_MUX_CAP = -2,	/* a stream passed its cap (bytes up to it went out) */
};

struct sp_mux {
	struct dkstream	dk;
	uint64_t	total[3];	/* by stream */
	uint64_t	cap[3];
	enum sp_mux_result stop;	/* why the last piece stopped the feed */
	sp_mux_out_fn	out;		/* during a feed */
	void		*ctx;
	char		why[96];
};

void	sp_mux_init(struct sp_mux *m, uint64_t stdout_cap, uint64_t stderr_cap);
enum sp_mux_result sp_mux_feed(struct sp_mux *m, const unsigned char *p,
	    size_t n, sp_mux_out_fn out, void *ctx);
/* 0 if the stream ended on a frame boundary */
int	sp_mux_finish(struct sp_mux *m);

#endif
