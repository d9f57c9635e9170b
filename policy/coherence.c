/*
 * What the keys ask together against what the daemons can hold. Each rule
 * is one named check: the numbers on its right-hand side are the daemons'
 * own (common/budget.h, which the daemons take them from), so raising a
 * limit there moves the check with it. A policy that passes every key's
 * bounds may still ask for more descriptors than a daemon may open: privd
 * then meets EMFILE mid-way through an execution's messages, the kernel
 * truncates the SCM_RIGHTS it receives, and a truncated message is a
 * protocol violation that ends privd (and frontd with it). Refused here
 * instead, at `codeward-policy check`, `--check-policy`, start and reload.
 *
 * A rule that involves one key alone is that key's ceiling (keys.c):
 * 'total' is at most PARSER_TOTAL_CEIL, what sockproxy's connections carry.
 */
#include <stdint.h>
#include <string.h>

#include "ipc.h"
#include "parser.h"

/* sockproxy's connections: 2 a run, and privd's fixed ones (budget.h) */
_Static_assert(PARSER_TOTAL_CEIL * CW_PRIVD_SP_CONNS_PER_RUN + CW_PRIVD_SP_CONNS_FIXED <=
    CW_SOCKPROXY_CONN_MAX, "total's ceiling exceeds what sockproxy serves at once");
/*
 * SCM_RIGHTS batches: every message carries at most IPC_FDS_MAX descriptors
 * (common/ipc.h): an execution's inputs go one per EXEC_FILE, its answer's
 * output and archive two in EXEC_DONE; the count of inputs is bounded by the
 * message field, not the batch.
 */
_Static_assert(POLICY_FILES_EXEC_CEIL <= IPC_FILES_MAX,
    "per-execution's ceiling exceeds what EXEC_BEGIN may announce");
_Static_assert(IPC_FDS_MAX >= 2, "EXEC_DONE carries the output and the archive");

/*
 * The line to blame: of the keys named (NULL-terminated), the one set last
 * in the file; 0 when the file sets none of them (the defaults ask it).
 */
static size_t
blame(const struct parser *ps, const char *const *names)
{
	size_t i, line = 0;

	for (; *names != NULL; names++)
		for (i = 0; i < PARSER_NKEYS; i++)
			if (strcmp(parser_keys[i].name, *names) == 0 &&
			    ps->key_line[i] > line)
				line = ps->key_line[i];
	return line;
}

/*
 * privd_fds: privd holds, for each run it admits and the one being sent,
 * the run's inputs and CW_PRIVD_FDS_PER_RUN more, and for each run waiting
 * in the admission queue its inputs and CW_PRIVD_FDS_PER_WAITER more, and
 * CW_PRIVD_FDS_PER_CONN for each of frontd's connections (the copy of its
 * socket, privd/custody.c); beside its own CW_PRIVD_FDS_BASE, under its
 * RLIMIT_NOFILE (privd/main.c).
 */
static int
privd_fds(struct parser *ps)
{
	static const char *const keys[] = { "connections", "total", "queue",
	    "per-execution", NULL };
	const struct policy *p = ps->p;
	uint64_t need = (uint64_t)(p->conc_total + 1) *
	    (p->files_per_exec + CW_PRIVD_FDS_PER_RUN) +
	    (uint64_t)p->queue * (p->files_per_exec + CW_PRIVD_FDS_PER_WAITER) +
	    (uint64_t)p->conn_max * CW_PRIVD_FDS_PER_CONN + CW_PRIVD_FDS_BASE;

	if (need <= CW_PRIVD_NOFILE)
		return 0;
	ps->line = blame(ps, keys);
	return parser_fail(ps, "[concurrency] total %u, queue %u, connections %u "
	    "with [files] per-execution %u: privd would hold up to %llu "
	    "descriptors, over its limit of %d ((total + 1) x (per-execution + "
	    "%d) + queue x (per-execution + %d) + connections x %d + %d); lower "
	    "one of them", p->conc_total, p->queue, p->conn_max,
	    p->files_per_exec, (unsigned long long)need, CW_PRIVD_NOFILE,
	    CW_PRIVD_FDS_PER_RUN, CW_PRIVD_FDS_PER_WAITER, CW_PRIVD_FDS_PER_CONN,
	    CW_PRIVD_FDS_BASE);
}

/*
 * frontd_fds: frontd holds a socket and a file for each connection, and for
 * each run privd admits or queues (and the one being sent) its inputs and
 * CW_FRONTD_FDS_PER_RUN more; beside its own CW_FRONTD_FDS_BASE, under its
 * RLIMIT_NOFILE (frontd/main.c). Past it, the memfds of privd's answer would
 * arrive truncated and end frontd.
 */
static int
frontd_fds(struct parser *ps)
{
	static const char *const keys[] = { "connections", "total", "queue",
	    "per-execution", NULL };
	const struct policy *p = ps->p;
	uint64_t need = (uint64_t)p->conn_max * CW_FRONTD_FDS_PER_CONN +
	    (uint64_t)(p->conc_total + p->queue + 1) *
	    (p->files_per_exec + CW_FRONTD_FDS_PER_RUN) + CW_FRONTD_FDS_BASE;

	if (need <= CW_FRONTD_NOFILE)
		return 0;
	ps->line = blame(ps, keys);
	return parser_fail(ps, "[concurrency] connections %u, total %u, queue %u with "
	    "[files] per-execution %u: frontd would hold up to %llu descriptors, over "
	    "its limit of %d (connections x %d + (total + queue + 1) x (per-execution "
	    "+ %d) + %d); lower one of them", p->conn_max, p->conc_total, p->queue,
	    p->files_per_exec,
	    (unsigned long long)need, CW_FRONTD_NOFILE, CW_FRONTD_FDS_PER_CONN,
	    CW_FRONTD_FDS_PER_RUN, CW_FRONTD_FDS_BASE);
}

/* [store] backend s3 needs where the store is and its credentials */
static int
store_s3(struct parser *ps)
{
	static const char *const keys[] = { "backend", "endpoint", "credentials",
	    NULL };
	const struct policy *p = ps->p;

	if (p->store_backend != STORE_S3 ||
	    (p->s3_endpoint[0] != '\0' && p->s3_credentials[0] != '\0'))
		return 0;
	ps->line = blame(ps, keys);
	return parser_fail(ps, "[store] backend s3 needs an endpoint and a "
	    "credentials file (the secret is never in the policy)");
}

int
parser_coherent(struct parser *ps)
{
	/* frontd's first: with today's numbers privd's budget is the tighter */
	static int (*const rules[])(struct parser *) = { frontd_fds, privd_fds,
	    store_s3 };
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i](ps) != 0)
			return -1;
	return 0;
}
