/*
 * The policy reader: how privd and sockproxy read their policy file again
 * (a reload) although neither opens a file after start-up (privd's filter
 * has no openat, sockproxy's neither). Each forks one tiny reader at
 * start-up, before its own privilege drop and filter. The reader drops to
 * its parent's user (without sockproxy's Docker group), dies with its
 * parent, loads its own allowlist (policy/reader_filter.c: open read-only,
 * read, a sealed memfd, send it; nothing else), and on each one-byte request
 * opens the one path it was given, copies at most POLICY_MAX + 1 bytes into
 * a sealed memfd and sends that back. It never parses: the daemon does, with
 * the loader it used at start (policy_load_fd).
 */
#ifndef CW_POLICY_READER_H
#define CW_POLICY_READER_H

#include <stdint.h>
#include <sys/types.h>

#include "policy.h"
#include "privdrop.h"

#define POLICY_READER_COMM	"cw-policy-read"	/* its /proc comm */
#define POLICY_READER_MS	5000	/* an answer within this */

struct policy_reader {
	int		sock;		/* SOCK_SEQPACKET to the reader */
	pid_t		pid;
	const char	*path;		/* what it opens, also the name in messages */
};

/* the reader's answer: errno of the open or read (0: an fd rides along) */
struct policy_reader_reply {
	uint32_t	err;
	uint32_t	reserved;
	uint64_t	len;		/* bytes in the memfd */
};
_Static_assert(sizeof(struct policy_reader_reply) == 16, "reader reply size");

/*
 * Fork the reader of 'path' (as root, before the caller's own drop and
 * filter, before any thread); it runs as u without a supplementary group.
 * Fatal on any failure.
 */
void	policy_reader_start(struct policy_reader *r, const char *path,
	    const struct cw_user *u);
/*
 * Ask the reader for the file and parse it into *p (id included). Returns
 * 0, with the sealed memfd of the bytes in *fd (rewound) when fd is not
 * NULL; or -1 with "FILE:LINE: message", or "FILE: why" in err.
 */
int	policy_reader_fetch(struct policy_reader *r, struct policy *p, int *fd,
	    char *err, size_t errlen);
/*
 * The reader's loop on its socket, without the drop and the filter: what
 * policy_reader_start runs after them (and the unit tests run in a plain
 * child). Returns when the socket ends.
 */
void	policy_reader_serve(int sock, const char *path);

#endif
