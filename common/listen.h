/*
 * The API's listening socket: bound from ADDR:PORT, or inherited from the
 * supervisor, which holds it across restarts of the privd/frontd pair so
 * that a client connecting while the pair restarts waits in the kernel's
 * backlog instead of being refused (supervise/main.c, --listen).
 *
 * The inheritance is systemd's convention, so a systemd socket unit can
 * hold it as well: LISTEN_PID names this process, LISTEN_FDS is 1, and the
 * socket is fd 3. Nothing else of the convention (names, several sockets)
 * is accepted.
 */
#ifndef CW_LISTEN_H
#define CW_LISTEN_H

#include <stddef.h>

#define CW_LISTEN_FD_FIRST	3	/* where an inherited listener arrives */
#define CW_LISTEN_BACKLOG	1024	/* connections the kernel queues for us */

/*
 * A TCP socket bound to ADDR:PORT (IPv4 or [IPv6]:PORT) and listening,
 * close-on-exec: the descriptor, or -1 with err.
 */
int	cw_listen_bind(const char *spec, char *err, size_t errlen);
/* 0 when fd is a listening stream socket, or -1 with err */
int	cw_listen_check(int fd, char *err, size_t errlen);
/*
 * The listener the supervisor (or systemd) handed this process: the
 * descriptor moved above fd 9 and close-on-exec, the two variables removed
 * from the environment; -1 when none was handed (no LISTEN_PID naming this
 * process); -2 with err when the handing is malformed (LISTEN_FDS is not
 * 1, fd 3 is no listening stream socket): the caller fails closed.
 */
int	cw_listen_inherited(char *err, size_t errlen);

#endif
