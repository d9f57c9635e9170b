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

/* a container created from cr under conf; 0, or -1 when the table is full */
int	sp_owned_add(const char *id, const struct sp_create *cr,
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

/* an exec on container cid; 0, or -1 when the table is full */
int	sp_owned_exec_add(const char *id, const char *cid);
/*
 * The exec's container into cid, or -1 when the exec is not ours; claim:
 * mark it started, -2 if it already was.
 */
int	sp_owned_exec_find(const char *id, char *cid, int claim);

#endif
