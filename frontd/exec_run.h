/*
 * One run between its request and its answer (exec.h), as exec.c, its
 * inputs (exec_input.c) and an attached workspace (workspace.c) see it.
 */
#ifndef CW_EXEC_RUN_H
#define CW_EXEC_RUN_H

#include <stddef.h>

#include "ipc.h"
#include "outputs.h"
#include "policy.h"
#include "privsep.h"
#include "reply.h"
#include "util.h"

struct exec_req;

struct exec_run {
	const struct policy *pol;	/* in force when the request began */
	struct exec_req	*q;
	const char	*user;		/* q's, authenticated */
	struct ipc_exec_begin *b;
	struct privd_input *in;		/* cap of them */
	struct input_state *st;
	size_t		nin, cap;
	char		key[IPC_SESSION_LEN + 1];
	char		ws[CW_ID_LEN + 1];	/* an attached workspace's store session, or "" */
};

/*
 * The stored object sid/fid as the run's next input, named name in
 * /mnt/data (linked into the inbox when the run has one): 0; -1 when it is
 * not there or not the run's user's to read; -2 when there is no room;
 * -3 when the store failed (errno EREMOTEIO: store_s3_why()).
 */
/* the same for an object whose record the caller read (store_list) */
int	exec_input_meta(struct exec_run *x, const struct store_meta *m,
	    const char *name);
int	exec_input_add(struct exec_run *x, const char *sid, const char *fid,
	    const char *name);

#endif
