/*
 * The operations: one handler per route of http.c, called by proxy.c's
 * dispatch table once the head is parsed. Each checks ownership, the body
 * and the policy before it writes its own upstream request, and answers
 * the client itself.
 *   op_container.c  create, start, kill, remove, wait, list, stats
 *   op_exec.c       exec create, start (the output stream), inspect
 *   op_archive.c    archive upload, download and stat of /mnt/data
 *   op_channel.c    the agent's channel: its exec create, its hijacked start
 */
#ifndef CW_SP_OP_H
#define CW_SP_OP_H

#include "conn.h"

void	sp_op_create(struct sp_conn *c);
void	sp_op_start(struct sp_conn *c);
void	sp_op_kill(struct sp_conn *c);
void	sp_op_remove(struct sp_conn *c);
void	sp_op_wait(struct sp_conn *c);
void	sp_op_list(struct sp_conn *c);
void	sp_op_stats(struct sp_conn *c);

void	sp_op_exec_create(struct sp_conn *c);
void	sp_op_exec_start(struct sp_conn *c);
void	sp_op_exec_inspect(struct sp_conn *c);
void	sp_op_channel_create(struct sp_conn *c);
void	sp_op_channel_create_jail(struct sp_conn *c);
void	sp_op_channel_start(struct sp_conn *c);
/* create exec e (checked) on container o, inspect it, answer its id */
struct sp_owned;
void	sp_exec_create(struct sp_conn *c, const struct sp_owned *o,
	    const struct sp_exec *e);
/*
 * Claim the request's exec for its one start: of the kind asked (the agent's
 * channel or not), ours, never started, still what was created and never
 * run (its container's policy in force from here). 0, or answered -1.
 */
int	sp_exec_claim(struct sp_conn *c, int channel, char *cid);

void	sp_op_put_archive(struct sp_conn *c);
void	sp_op_get_archive(struct sp_conn *c);
void	sp_op_stat_archive(struct sp_conn *c);

#endif
