/*
 * Serving privd: one connection, one request, answered from the route table
 * (http.c) by the handler for its operation (op.h), which checks ownership,
 * the body and the policy, and only then writes its own upstream request.
 * proxy.c holds the dispatch table and the serve loop; startup.c the checks
 * before the first connection.
 */
#ifndef CW_SP_PROXY_H
#define CW_SP_PROXY_H

#include "tmpl.h"

/* resolve the policy's images and remove this instance's leftovers */
int	sp_startup(const struct sp_conf *conf);
/*
 * Every image of conf's policy on the engine under its pinned id, its named
 * network there: 0, or -1 (logged). 'what' names the caller in logs.
 */
int	sp_check_engine(const struct sp_conf *conf, const char *what);
/* serve one accepted connection and close it */
void	sp_serve(int fd, const struct sp_conf *conf);
/* answer 503 at once (too many connections) and close */
void	sp_busy(int fd);

#endif
