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

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy.h"

#define LIMIT_SLOTS	4096	/* addresses remembered */
#define LIMIT_PROBE	8	/* slots tried per address */
#define LIMIT_BURST	10	/* failures an address may make at once */
#define LIMIT_REFILL_S	6	/* then one more every 6 s: 10 a minute */
#define LIMIT_XFF_MAX	1024	/* an X-Forwarded-For longer is not read */
#define LIMIT_XFF_HOPS	32	/* nor one of more addresses */

struct limit_addr {
	unsigned char	b[16];
};

/* the random table key; before any other call */
void	limit_init(void);
/* the counting key of a peer address; 0, or -1 when sa is NULL */
int	limit_addr_from(const struct sockaddr *sa, struct limit_addr *a);
/* the peer's address (bits 128): 0, or -1 when sa is NULL or not IP */
int	limit_peer_net(const struct sockaddr *sa, struct policy_net *n);
/*
 * The client whose failures count. The peer itself, unless it is one of
 * the trusted proxies; then the last address of X-Forwarded-For, read right
 * to left, that is not a trusted proxy (all of them trusted: the first).
 * xff is the header's value (NULL: absent), nxff how many such headers came.
 * A header that does not parse strictly (addresses separated by commas and
 * optional spaces: no ports, brackets, names or empty entries; one header,
 * at most LIMIT_XFF_MAX bytes and LIMIT_XFF_HOPS addresses) counts as the
 * proxy's own address. A peer not trusted is never looked past.
 */
void	limit_client(const struct policy_net *peer, const char *xff, size_t nxff,
	    const struct policy_net *proxies, size_t nproxies,
	    struct policy_net *client);
/* the counting key of an address: IPv4 whole, IPv6 by its /64 */
void	limit_addr_from_net(const struct policy_net *n, struct limit_addr *a);
/* 0 when the address may try now; else the seconds until it may */
unsigned int limit_check(const struct limit_addr *a, uint64_t now_ms);
/* count one failure of the address */
void	limit_fail(const struct limit_addr *a, uint64_t now_ms);

#endif
