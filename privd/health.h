#ifndef CW_HEALTH_H
#define CW_HEALTH_H

#include <stdint.h>

/* answer HEALTH id with HEALTH_REPLY (sockproxy's list, or its last answer) */
void	health_reply(uint32_t id);
/* answer METRICS id with METRICS_REPLY */
void	metrics_reply(uint32_t id);

#endif
