#ifndef CW_SESSION_H
#define CW_SESSION_H

#include "dkhttp.h"
#include "docker.h"
#include "ipc.h"
#include "policy.h"

/* start the expiry of idle sessions when the policy keeps any; after seccomp */
void	session_init(void);
/*
 * A new policy is in force (privd.policy): start the expiry if it keeps
 * sessions now; idle sandboxes kept under an older policy are removed.
 */
void	session_reload(void);
/*
 * The kept sandbox of session key on image 'image' of p, the calling run's
 * policy (a sandbox kept under another is not reused): 0 with its id and
 * the work directory's stat after the last call's reset. -1 when there is
 * none yet: the session's slot is reserved for this call, which ends it with
 * session_keep() or session_drop(). -2 when the session stays busy with
 * another call (waited for up to a few seconds) or no slot is free: this
 * call runs in a fresh sandbox and nothing is kept. Busy after 0 or -1.
 */
int	session_take(const char *key, const struct policy *p, int image,
	    char *cid, char *stat);
/*
 * Keep cid (started, reset) for key's next call and make the session idle.
 * 0, or -1 (shutting down): the caller removes the sandbox and drops.
 */
int	session_keep(const char *key, const struct policy *p, int image,
	    const char *cid, const char *stat);
/*
 * isolation jail: the same, the session's worker (worker.h) in *w with 0;
 * session_keep_worker keeps w (its channel) with cid. The session's worker
 * leaves the table with it: closed and removed at expiry or eviction.
 */
struct worker;
int	session_take_worker(const char *key, const struct policy *p, int image,
	    char *cid, char *stat, struct worker **w);
int	session_keep_worker(const char *key, const struct policy *p, int image,
	    const char *cid, const char *stat, struct worker *w);
/* the session's sandbox is gone (killed, failed): forget it */
void	session_drop(const char *key);
void	session_stop(void);
/*
 * Expiry, one session at a time (the expiry thread's step): an idle
 * session past p's session-idle at now, or one kept under a policy other
 * than p, leaves the table and its sandbox is removed: 1, or 0 when none.
 */
int	session_expire(struct dk *dk, const struct policy *p, uint64_t now);
/* the Docker side (privd.h): sandbox_docker unless a unit test's */
struct sandbox_ops;
void	session_use_ops(const struct sandbox_ops *o);

#endif
