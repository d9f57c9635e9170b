/*
 * The policy in force in frontd: the one privd handed over at start (on
 * POLICY_FD), later the one of privd's last reload. A request reads it once
 * as it starts and keeps that pointer to its end; a policy once in force is
 * never freed, so no request's pointer dangles.
 */
#ifndef CW_CURRENT_H
#define CW_CURRENT_H

#include "policy.h"

void	current_set(const struct policy *p);
const struct policy *current_policy(void);

#endif
