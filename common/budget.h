/*
 * The numbers the daemons are built with that bound what a policy can ask of
 * them. Each daemon takes its number from here, and policy/coherence.c holds
 * every policy against the same names, so a change to a limit changes the
 * check with it (policy/README.md, "What the daemons can hold").
 */
#ifndef CW_BUDGET_H
#define CW_BUDGET_H

/* RLIMIT_NOFILE each daemon sets when it drops privileges (privdrop_apply) */
#define CW_PRIVD_NOFILE		15376	/* privd/main.c */
#define CW_FRONTD_NOFILE	16384	/* frontd/main.c */

/* sockproxy serves this many connections at once, a thread each; the next is 503 */
#define CW_SOCKPROXY_CONN_MAX	64	/* sockproxy/sockproxy.h: SP_CONN_MAX */

/* frontd's metrics listener, when the policy gives /metrics one (frontd/http.c) */
#define CW_FRONTD_METRICS_CONN_MAX	16

/*
 * privd's descriptors. Always open: the standard streams, the socketpair to
 * frontd, the policy memfd, the log and audit files, the wake pipe, and the
 * connections of the pool filler, the session expiry, one health check and
 * one metrics request, with room to spare. Per execution it holds, from its
 * EXEC_BEGIN to its answer (privd/monitor.c, privd/run.c): the code memfd,
 * each input file, the output and archive memfds, the exec stream and the
 * wait on the container (two sockproxy connections), the session's reset
 * memfd; one execution more than 'total' may be mid-way through its messages
 * (the one being built is refused only at EXEC_RUN). An execution waiting
 * in the admission queue (privd/queue.c) holds its code memfd and its inputs.
 * Per HTTP connection frontd answers, a copy of its socket (privd/custody.c):
 * 'connections' of them and the metrics listener's, counted in the base.
 */
#define CW_PRIVD_FDS_BASE		(32 + CW_FRONTD_METRICS_CONN_MAX)
#define CW_PRIVD_FDS_PER_CONN		1
#define CW_PRIVD_FDS_PER_RUN		6	/* + the run's input files */
#define CW_PRIVD_FDS_PER_WAITER		1	/* + the waiter's input files */

/*
 * privd's connections to sockproxy: two per execution (the exec stream and
 * the wait, privd/docker.c dk_exec_start), and one each for the pool filler,
 * the session expiry, the health check and the metrics request, each at
 * most one at a time.
 */
#define CW_PRIVD_SP_CONNS_PER_RUN	2
#define CW_PRIVD_SP_CONNS_FIXED		4

/*
 * frontd's descriptors. Always open: the standard streams, the socketpair,
 * the listeners, libmicrohttpd's own, the log, with room to spare. Per HTTP
 * connection: its socket and at most one file (a download's, an upload's
 * temporary file). Per execution privd admits (and the one being sent): the
 * code memfd, each input file, privd's two answer memfds; an execution in
 * privd's admission queue ('queue' of them) holds as much here.
 */
#define CW_FRONTD_FDS_BASE		64
#define CW_FRONTD_FDS_PER_CONN		2
#define CW_FRONTD_FDS_PER_RUN		3	/* + the run's input files */

#endif
