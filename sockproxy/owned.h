/*
 * What this process created: its containers (with the create each was made
 * from, for the checks before start) and its execs (with their container,
 * and whether they were started). Nothing else is ever acted on (rule 8).
 * One lock; every function copies in or out under it. Each container keeps
 * the configuration (the policy) it was created under: every later request
 * on it, or on one of its execs, is checked against that one, so a reload
 * never judges a container by a policy it was not made for.
 */
#ifndef CW_SP_OWNED_H
#define CW_SP_OWNED_H

#include "conn.h"

struct sp_owned {
	char		id[SP_ID_LEN + 1];
	const struct sp_conf *conf;	/* the one it was created under */
	int		image;
	uint64_t	memory, swap, nano_cpus, pids;
	int		gpu;
	int64_t		gpu_count;
	size_t		ngpu_ids;
	char		gpu_ids[POLICY_GPU_IDS_MAX][POLICY_NAME_MAX];
};

/*
 * A slot for one more container, taken before the create is sent: -1 when
 * max are live or being created (so creates racing at the cap cannot pass it
 * together). The slot is then filled (sp_owned_add) or given back.
 */
int	sp_owned_reserve(size_t max);
void	sp_owned_release(int slot);
/* the container created from cr under conf, into its reserved slot */
void	sp_owned_add(int slot, const char *id, const struct sp_create *cr,
	    const struct sp_conf *conf);
/* a copy of the entry (out may be NULL); -1 when the id is not ours */
int	sp_owned_find(const char *id, struct sp_owned *out);
/*
 * The container the request names, or -1 answered 404; from now on the
 * connection is served under the container's configuration (c->conf).
 */
int	sp_owned_req(struct sp_conn *c, struct sp_owned *o);
/* serve the connection under the configuration of container cid, if ours */
void	sp_owned_conf(struct sp_conn *c, const char *cid);
int	sp_owned_count(void);
/* forget a container and its execs */
void	sp_owned_del(const char *id);
/* the create an entry was made from */
void	sp_owned_create(const struct sp_owned *o, struct sp_create *cr);

/*
 * Execs live from their create until they end: their start stream is over
 * (or the start failed after its claim), or an inspect says they exited. At
 * most SP_EXECS_LIVE of one container are live (reserved before the create
 * is sent); the last SP_EXECS_ENDED ended ones stay known, for the inspect
 * that reads the exit code, and older ones are forgotten.
 */
/* a slot for one more exec on container cid; -1 not ours, -2 at the cap */
int	sp_owned_exec_reserve(const char *cid);
void	sp_owned_exec_release(int slot, const char *cid);
/* the exec created into its slot; -1 when the container went meanwhile */
int	sp_owned_exec_add(int slot, const char *cid, const char *id,
	    int channel);
/* 1 when exec id is an agent's channel, 0 when another exec, -1 not ours */
int	sp_owned_exec_channel(const char *id);
/*
 * The exec's container into cid, or -1 when the exec is not ours; claim:
 * mark it started, -2 if it already was (or has ended).
 */
int	sp_owned_exec_find(const char *id, char *cid, int claim);
/* the exec has ended (no-op when it is not known) */
void	sp_owned_exec_end(const char *id);

#endif
