#ifndef CW_EXEC_H
#define CW_EXEC_H

#include <stddef.h>

#include "ipc.h"
#include "policy.h"
#include "reply.h"

void	exec_init(void);
/* the largest exec body accepted (413 above) */
size_t	exec_body_max(void);
/*
 * POST /v1/exec: body is the JSON request; user the authenticated user id;
 * profile the X-CodeAPI-Expected-Profile header (NULL when absent)
 */
void	exec_handle(const char *body, size_t len, const char *user,
	    const char *profile, struct reply *r);
/* exec_reply.c: privd's refusal d of a run under pol, as an HTTP answer */
void	exec_refusal(const struct policy *pol, const struct ipc_exec_done *d,
	    struct reply *r);

#endif
