/*
 * Demultiplex Docker's non-TTY exec stream: 8-byte headers
 * [type][0][0][0][length, uint32 big-endian], type 1 stdout, 2 stderr (3, the
 * daemon's own error text, joins stderr). Each stream keeps at most its cap;
 * the rest is counted and dropped. A stream cut inside a frame or a header
 * (privd's cap cuts anywhere) keeps the bytes that arrived. The framing is
 * common/dkstream's; this is frontd's policy on top.
 */
#ifndef CW_STREAM_H
#define CW_STREAM_H

#include <stddef.h>
#include <stdint.h>

struct outbuf {
	char		*buf;
	size_t		len;
	size_t		cap;		/* bytes kept at most */
	uint64_t	total;		/* bytes the program wrote */
	int		truncated;
};

/* 0, or -1 when the framing is corrupt (what was read so far is kept) */
int	stream_demux(const unsigned char *data, size_t len, struct outbuf *out,
	    struct outbuf *err);
void	outbuf_free(struct outbuf *o);

#endif
