#ifndef CW_EXEC_H
#define CW_EXEC_H

#include <stddef.h>

#include "ipc.h"
#include "policy.h"
#include "privsep.h"
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
/*
 * One run between its request and its answer, apart (POST
 * /v1/exec/programmatic runs its program through the same steps): body's
 * fields as /v1/exec takes them (files, timeout, user_id, ...); lang and
 * program, when program is not NULL, instead of the body's lang and code,
 * and no session; ws, when not NULL, an attached workspace's id and
 * instance ("" or 64 hex; workspace.h): its files are staged under
 * .workspace/ and what the run changes there is kept for the next call.
 * NULL with r filled in (a 4xx, or 503).
 */
struct exec_run;
struct exec_run *exec_run_new(const char *body, size_t len, const char *user,
	    const char *profile, int lang, const char *program,
	    const char *const *ws, struct reply *r);
void	exec_run_free(struct exec_run *x);
/* a programmatic run sent to privd: privd_ptc_start's id, 0 on failure */
uint32_t exec_run_ptc(struct exec_run *x);
/*
 * privd's answer res as /v1/exec answers it (its fds closed here), with
 * "status" first when status is not NULL and errmsg as a last stderr line
 */
void	exec_reply(struct exec_run *x, struct privd_result *res,
	    const char *status, const char *errmsg, struct reply *r);
/* exec_reply.c: privd's refusal d of a run under pol, as an HTTP answer */
void	exec_refusal(const struct policy *pol, const struct ipc_exec_done *d,
	    struct reply *r);

#endif
