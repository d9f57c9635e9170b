/* A run's input files, from the store (exec_run.h). */
#include "exec_run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inbox.h"
#include "log.h"
#include "store.h"

int
exec_input_add(struct exec_run *x, const char *sid, const char *fid,
    const char *name)
{
	struct store_meta m;

	if (x->nin >= x->cap)
		return -2;
	if (store_meta(sid, fid, &m) != 0)
		return errno == EREMOTEIO ? -3 : -1;
	return exec_input_meta(x, &m, name);
}

int
exec_input_meta(struct exec_run *x, const struct store_meta *mp,
    const char *name)
{
	struct ipc_exec_begin *b = x->b;
	const char *sid = mp->sid, *fid = mp->fid;
	struct store_meta m = *mp;
	int fd;

	if (x->nin >= x->cap)
		return -2;
	/* another user's file is answered exactly like a missing one */
	if (!store_visible(&m, x->user))
		return -1;
	if ((fd = store_open(&m)) < 0)
		return errno == EREMOTEIO ? -3 : -1;
	/* the link is the file: a failed one streams the run's inputs */
	if (b->inbox[0] != '\0' && inbox_add(b->inbox, x->nin, sid, fid, fd) != 0) {
		log_warn("exec: inbox link of %s/%s (the inputs stream)", sid, fid);
		inbox_drop(b->inbox, x->nin);
		b->inbox[0] = '\0';
	}
	snprintf(x->st[x->nin].name, sizeof(x->st[x->nin].name), "%s", name);
	memcpy(x->st[x->nin].sha256, m.sha256, sizeof(x->st[x->nin].sha256));
	memcpy(x->st[x->nin].fid, fid, sizeof(x->st[x->nin].fid));
	x->st[x->nin].size = m.size;
	x->in[x->nin].name = x->st[x->nin].name;
	x->in[x->nin].fd = fd;
	x->in[x->nin].size = m.size;
	x->nin++;
	return 0;
}
