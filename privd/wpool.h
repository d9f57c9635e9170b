/*
 * The workers of policy isolation jail (worker.h): started sandbox
 * containers whose agent's channel is open, each serving one job at a
 * time, any language of its image. Kept ready: 'pool' per image an
 * enabled language uses. A leaf like pool.c, over struct sandbox_ops.
 */
#ifndef CW_WPOOL_H
#define CW_WPOOL_H

#include <stdint.h>

#include "docker.h"
#include "pool.h"
#include "policy.h"
#include "worker.h"

/* start the filler when the policy says isolation jail; after seccomp */
void	wpool_init(void);
/* a new policy is in force: idle workers made under an older one go */
void	wpool_reload(void);
/*
 * An idle worker of p's image 'image' made under p and younger than its
 * worker-age, or NULL. for_session: only one that never ran a job, and it
 * leaves the pool (the session holds it; session.c removes it).
 */
struct worker *wpool_take(const struct policy *p, int image, int for_session);
/*
 * A new worker: created, started, its channel open and the agent's hello
 * read; NULL with dk->err. Counted busy unless for_session.
 */
struct worker *wpool_make(struct dk *dk, const struct policy *p, int image,
	    int for_session);
/*
 * A stateless job on w has ended: clean (EXIT and READY came) or not. Back
 * to the idle workers when clean, under reuse and worker-age, of the pools'
 * policy and wanted; else its channel closed and its container removed.
 */
void	wpool_put(struct dk *dk, struct worker *w, int clean);
/*
 * The same for a clean worker, before the answer (so the user's next run
 * finds it idle): 1 when it went back to the idle workers; 0 when it would
 * not be kept, nothing changed (wpool_put after the answer removes it).
 */
int	wpool_put_kept(struct worker *w);
/* w (a session's too) removed: its channel closed, its container removed */
void	wpool_discard(struct dk *dk, struct worker *w);
/*
 * A resync, or a shutdown: every idle worker's channel closed, its id into
 * ids (max at most) for the caller to remove. Their count.
 */
size_t	wpool_drop(char ids[][DK_ID_LEN + 1], size_t max);
void	wpool_stop_filling(void);
void	wpool_sizes(uint32_t *ready, uint32_t *capacity);
/* the pools for p (none unless isolation jail): 1 when a filler is needed */
int	wpool_configure(const struct policy *p);
/* the filler's work, one step (pool.h's enum); the test drives it */
enum pool_step wpool_step(struct dk *dk, uint64_t now, uint64_t *wait_ms);
struct sandbox_ops;
void	wpool_use_ops(const struct sandbox_ops *o);

#endif
