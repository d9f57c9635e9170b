#ifndef CW_MONITOR_H
#define CW_MONITOR_H

#include <poll.h>

/*
 * Answer frontd until it closes the connection (0), *stop is set or wakefd
 * becomes readable (0), or it violates the protocol (-1).
 */
int	monitor_loop(int sock, volatile int *stop, int wakefd);

#endif
