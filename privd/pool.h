#ifndef CW_POOL_H
#define CW_POOL_H

#include <stdint.h>

#include "docker.h"
#include "policy.h"

/* start the filler when the policy asks for a pool; after seccomp */
void	pool_init(void);
/*
 * A new policy is in force (privd.policy): every pooled sandbox goes (the
 * filler removes them) and the pools refill under it.
 */
void	pool_reload(void);
/*
 * A started, never-used sandbox for language 'lang' of p, the run's policy
 * (none when the pools are another policy's), and the stat of its work
 * directory taken when it was pooled (DKH_STAT_MAX bytes; "" when unknown):
 * 0, or -1 when the pool is empty.
 */
int	pool_take(const struct policy *p, int lang, char *id, char *stat);
/*
 * A resync: every pooled sandbox out of the pools, into ids (max at most),
 * for the caller to remove; the filler refills. Returns their count.
 */
size_t	pool_drop(char ids[][DK_ID_LEN + 1], size_t max);
/* a run that pool_take() served has answered: the pool may refill now */
void	pool_answered(void);
/* does a sandbox for 'lang' start a pre-warmed interpreter? */
int	pool_prewarmed(const struct policy *p, int lang);
void	pool_stop_filling(void);
/* sandboxes waiting in the pool, and how many it holds when full */
void	pool_sizes(uint32_t *ready, uint32_t *capacity);

/*
 * The pools for p, empty; every pooled sandbox of the policy before goes
 * to the filler to remove. 1 when a filler is needed (pool_init and
 * pool_reload start it then).
 */
int	pool_configure(const struct policy *p);
/*
 * The filler's work, one step (its thread loops on it): at now, remove an
 * older policy's sandbox, or create one for a pool below target (FILLED;
 * DISCARDED when the pools changed meanwhile; FAILED), or nothing: WAIT
 * with *wait_ms (UINT64_MAX: until a take, an answer or a reload), or
 * STOPPED.
 */
enum pool_step {
	POOL_STOPPED, POOL_WAIT, POOL_REMOVED, POOL_FILLED, POOL_DISCARDED,
	POOL_FAILED,
};
enum pool_step pool_step(struct dk *dk, uint64_t now, uint64_t *wait_ms);
/* the Docker side (privd.h): sandbox_docker unless a unit test's */
struct sandbox_ops;
void	pool_use_ops(const struct sandbox_ops *o);

#endif
