/*
 * Failed authentication, limited per client address: a token bucket of
 * LIMIT_BURST failures per address, refilled by one every LIMIT_REFILL_S
 * seconds. An address whose bucket is empty is answered 429 without its
 * credentials being looked at, so guessing is capped at the refill rate.
 * IPv4 addresses count one by one, IPv6 addresses by their /64 (what one
 * host usually holds). The table is fixed-size and keyed with a random
 * siphash key; when a neighbourhood is full, the entry with the fullest
 * bucket (the least suspicious) is dropped.
 */
#ifndef CW_LIMIT_H
#define CW_LIMIT_H

#include <stdint.h>
#include <sys/socket.h>

#define LIMIT_SLOTS	4096	/* addresses remembered */
#define LIMIT_PROBE	8	/* slots tried per address */
#define LIMIT_BURST	10	/* failures an address may make at once */
#define LIMIT_REFILL_S	6	/* then one more every 6 s: 10 a minute */

struct limit_addr {
	unsigned char	b[16];
};

/* the random table key; before any other call */
void	limit_init(void);
/* the counting key of a peer address; 0, or -1 when sa is NULL */
int	limit_addr_from(const struct sockaddr *sa, struct limit_addr *a);
/* 0 when the address may try now; else the seconds until it may */
unsigned int limit_check(const struct limit_addr *a, uint64_t now_ms);
/* count one failure of the address */
void	limit_fail(const struct limit_addr *a, uint64_t now_ms);

#endif
