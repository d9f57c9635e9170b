#ifndef CW_RESET_H
#define CW_RESET_H

#include <stddef.h>
#include <stdint.h>

#include "docker.h"
#include "policy.h"

/*
 * End a call in a kept sandbox: kill what the call left running and empty
 * /tmp (the pre-warmed interpreter and the idle process stay), then read
 * the work directory's stat into stat, all within timeout_ms. 0, or -1: a
 * process survived, or the reset could not run; the sandbox cannot be kept.
 */
int	reset_sandbox(struct dk *dk, const struct policy *p, const char *cid,
	    int image, char *stat, size_t statlen, uint32_t timeout_ms);

#endif
