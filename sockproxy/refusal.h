/*
 * Refusals, counted by class (the IPC's refusal classes, for privd's
 * METRICS) and each written as one audit line. Counting only: the client is
 * answered by conn.c.
 */
#ifndef CW_SP_REFUSAL_H
#define CW_SP_REFUSAL_H

#include <stdint.h>

#include "tmpl.h"

/* the conf of refusals counted without a connection (sp_busy): in force */
void	sp_refusal_init(const struct sp_conf *conf);
/* the class an HTTP status stands for */
unsigned int sp_refusal_class(int status);
/* count one refusal and write its audit line; conf NULL: the one in force */
void	sp_refusal_count(const struct sp_conf *conf, unsigned int klass,
	    int status, const char *line, const char *why);
/* refusals of class klass so far */
uint64_t sp_refusal_get(unsigned int klass);

#endif
