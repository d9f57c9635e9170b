/* What storeproxy's main.c takes from its other files. */
#ifndef CW_STOREPROXY_H
#define CW_STOREPROXY_H

#include "filter.h"

/* storeproxy's seccomp allowlist, built (filter.c) */
scmp_filter_ctx	storeproxy_filter(void);

#endif
