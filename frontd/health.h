#ifndef CW_HEALTH_H
#define CW_HEALTH_H

#include "ipc.h"

/*
 * privd's answers to the two requests a caller may make without a credential
 * (GET /v1/health; /metrics on a listener without auth), shared: one request
 * of each kind to privd at a time, whoever else asks meanwhile waits for its
 * answer. A health answer is served again for HEALTH_FRESH_MS.
 */
#define HEALTH_FRESH_MS		1000

int	health_ok(void);	/* 1: privd and sockproxy answered in time */
int	health_metrics(struct ipc_metrics_reply *out);	/* 0, or -1: no answer */

#endif
