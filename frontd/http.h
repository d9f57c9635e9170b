#ifndef CW_HTTP_H
#define CW_HTTP_H

#include "policy.h"

/*
 * Start serving on the bound, listening API socket, and on the policy's
 * metrics socket when metrics_fd >= 0 (GET /metrics only). 0 or -1.
 */
int	http_start(int listen_fd, int metrics_fd, const struct policy *p);
void	http_stop(unsigned int grace_s);

#endif
