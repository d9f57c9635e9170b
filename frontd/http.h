#ifndef CW_HTTP_H
#define CW_HTTP_H

#include "policy.h"
#include "util.h"

/* each HTTP thread's stack (4x under ASan: its redzones and fake stacks) */
#ifdef CW_SANITIZED
#define CW_MHD_STACK	(1024 * 1024)
#else
#define CW_MHD_STACK	(256 * 1024)
#endif

/*
 * Start serving on the bound, listening API socket, and on the policy's
 * metrics socket when metrics_fd >= 0 (GET /metrics only). 0 or -1.
 */
int	http_start(int listen_fd, int metrics_fd, const struct policy *p);
void	http_stop(unsigned int grace_s);

#endif
