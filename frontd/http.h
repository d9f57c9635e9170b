#ifndef CW_HTTP_H
#define CW_HTTP_H

#include "policy.h"

/* start serving on the bound, listening socket; 0 or -1 */
int	http_start(int listen_fd, const struct policy *p);
void	http_stop(unsigned int grace_s);

#endif
