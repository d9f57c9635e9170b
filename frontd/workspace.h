/*
 * Attached workspaces (X-LibreChat-Code-Workspace-ID on
 * /v1/exec/programmatic; SECURITY.md, "Attached workspaces"): per user,
 * workspace id and workspace_instance_id, a persistent project directory.
 * Its files are store objects (kind "workspace") of one store session
 * named by a hash of the three; a call stages them under
 * /mnt/data/.workspace, the program's working directory, and what the call
 * created, changed or deleted there is kept for the next call instead of
 * being returned. [programmatic] workspace-files, workspace-size and
 * workspace-lifetime bound it.
 */
#ifndef CW_WORKSPACE_H
#define CW_WORKSPACE_H

#include "exec_run.h"
#include "outputs.h"
#include "tar.h"

#define WS_DIR		"/mnt/data/.workspace"	/* the program's working directory */
#define WS_PREFIX	".workspace/"		/* its files among the run's */

/* the store session of user's workspace wsid (instance: "" or 64 hex) */
void	ws_session(const char *user, const char *wsid, const char *instance,
	    char sid[CW_ID_LEN + 1]);
/* 1 when a name in /mnt/data is the workspace's */
int	ws_name(const char *name);
/*
 * the files of the workspace sid (x->ws) as x's inputs: 0; -1 (the store
 * failed); -2 (more than x has room for: per-execution); -3 (the object
 * store failed: store_s3_why())
 */
int	ws_stage(struct exec_run *x, const char *sid);
/* outputs.c's collector: its tallies, a workspace file, the deleted ones */
void	ws_begin(struct collect *c);
int	ws_keep(struct collect *c, const struct tar_entry *e);
void	ws_settle(struct collect *c);

#endif
