/*
 * frontd's inbox (policy `inputs inbox`; SECURITY.md, "Inputs through the
 * inbox"): a directory every worker has bound read-only at /codeward/inbox.
 * A run's input files are hard links to the stored files, in a directory of
 * its own named by 128 random bits and removed once the run is answered;
 * privd tells the agent LINK INBOX/INDEX instead of streaming the bytes.
 */
#ifndef CW_INBOX_H
#define CW_INBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "ipc.h"

/* as root, before the drop: the directory made, 0711, uid's; 0 or -1 */
int	inbox_prepare(const char *path, uid_t uid, gid_t gid);
/* after the drop: opened, checked as ours, emptied of older runs; 0 or -1 */
int	inbox_open(const char *path);
/* 1 when the policy in force takes inputs by the inbox and there is one */
int	inbox_on(void);
/*
 * A run's directory for n inputs: name (IPC's 32 hex digits and NUL) made;
 * then each input linked as its index; 0 or -1 (errno). inbox_drop removes
 * the n links and the directory (nothing left when it fails half-way).
 */
int	inbox_begin(char name[IPC_SESSION_MAX]);
int	inbox_add(const char *name, size_t index, const char *sid,
	    const char *fid, int fd);
void	inbox_drop(const char *name, size_t n);

#endif
