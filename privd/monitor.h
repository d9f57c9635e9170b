#ifndef CW_MONITOR_H
#define CW_MONITOR_H

#include <poll.h>

/*
 * Answer frontd until it closes the connection (0), *stop is set when wakefd
 * becomes readable (0), or it violates the protocol (-1). When wakefd
 * becomes readable without *stop, woken() runs (main.c: a reload), between
 * two messages; a NULL woken makes every wake-up a stop.
 */
int	monitor_loop(int sock, volatile int *stop, int wakefd, void (*woken)(void));

#endif
