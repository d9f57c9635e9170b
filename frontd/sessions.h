/*
 * Stateful sessions, frontd's side: the key of a session (a keyed hash of
 * the user and the client's session hint, so no user can name another's
 * sandbox), and what the session's /mnt/data held after its last call, so a
 * call in a reused sandbox lists only the files it created or changed, not
 * those of earlier calls. In memory only, bounded by the policy.
 */
#ifndef CW_SESSIONS_H
#define CW_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

struct sess_file {
	char	name[IPC_NAME_MAX];
	char	sha256[65];
};

void	sess_init(unsigned max_sessions, unsigned max_files);
/* key: IPC_SESSION_LEN hex digits and a NUL */
void	sess_key(const char *user, const char *hint, size_t hintlen, char *key);
/* a copy of what the session held (free it); NULL and *n 0 when unknown */
struct sess_file *sess_get(const char *key, size_t *n);
/* what it holds now (copied) */
void	sess_set(const char *key, const struct sess_file *f, size_t n);
void	sess_forget(const char *key);
/*
 * Follow privd's stated outcome of a call (enum ipc_session_outcome): 'listed'
 * when an archive came, f and n then every file it holds. Nothing else
 * decides what the record says.
 */
void	sess_follow(const char *key, uint32_t outcome, int listed,
	    const struct sess_file *f, size_t n);
/* the session's kept sandbox served the call */
int	sess_reused(uint32_t outcome);

#endif
