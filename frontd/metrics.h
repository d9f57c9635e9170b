/*
 * GET /metrics, in the Prometheus text format (version 0.0.4). frontd counts
 * what it sees of HTTP (bytes, answers, failed authentication); privd counts
 * executions, sandboxes and sockproxy's refusals and hands them over in one
 * METRICS_REPLY per scrape. compose/README.md lists every metric.
 */
#ifndef CW_METRICS_H
#define CW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "policy.h"
#include "reply.h"
#include "tar.h"

/* the HTTP answers counted by code; any other code counts as "other" */
#define METRICS_CODES	13

/* auth.c's counters of refused credentials, as labels */
enum metrics_auth_fail {
	METRICS_AUTH_MISSING,	/* no credential: 401 */
	METRICS_AUTH_INVALID,	/* a wrong key or token: 401 */
	METRICS_AUTH_LIMITED,	/* an address over its failure budget: 429 */
	METRICS_AUTH_REASONS
};

/* frontd's own counters, as one snapshot */
struct metrics_http {
	uint64_t	received;		/* request body bytes */
	uint64_t	sent;			/* response body bytes */
	uint64_t	codes[METRICS_CODES + 1];	/* + "other" */
	uint64_t	auth[METRICS_AUTH_REASONS];	/* from auth_counters() */
	char		policy[POLICY_ID_LEN];	/* the policy in force: its id */
	uint64_t	walk_skipped[TAR_SKIPS];	/* metrics_walk_skipped */
};

void	metrics_http_received(uint64_t n);
void	metrics_http_response(unsigned int status, uint64_t body_bytes);
/* body bytes of an answer sent piece by piece (counted once by status) */
void	metrics_http_sent(uint64_t n);
/* output archive entries the walk skipped, by enum tar_skip (tar.h) */
void	metrics_walk_skipped(const size_t skipped[TAR_SKIPS]);
/* the counters and the id of the policy in force */
void	metrics_http_snapshot(struct metrics_http *out);

/*
 * The exposition text: frontd's counters, and privd's when p is not NULL
 * (p NULL: privd did not answer, codeward_privd_up 0). Returns the length
 * written into buf (NUL-terminated), or -1 when buf is too small.
 */
int	metrics_format(const struct metrics_http *h,
	    const struct ipc_metrics_reply *p, char *buf, size_t len);

/* the whole route: ask privd, format, answer 200 text/plain */
void	metrics_reply(struct reply *r);

#endif
