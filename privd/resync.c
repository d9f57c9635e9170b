/*
 * privd's view of its sandboxes, kept equal to what sockproxy reports.
 *
 * At start-up, before the pool fills, the containers sockproxy still holds
 * for this instance are an earlier privd's leftovers: listed at once and
 * removed in the background, SWEEP_PAR at a time, so that health is
 * answered at once (when sockproxy cannot list them then, the first resync
 * sweeps them: late_sweep). Then one thread retries the removals that failed
 * (sandbox.c's retry list) and resyncs whenever sockproxy's generation
 * changes or sockproxy and the engine answer again after an outage
 * (dkhttp.c says when): the pool is dropped and its sandboxes removed
 * (sockproxy's 404 counts as gone), every id sockproxy no longer lists
 * leaves the live list, every listed one that stopped ("exited" or "dead":
 * the engine stopped it in its own shutdown; one just created and not yet
 * started is not judged) is removed unless a run still works in it, and the filler refills the pool from what is true now.
 */
#include "privd.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkhttp.h"
#include "docker.h"
#include "log.h"
#include "pool.h"
#include "record.h"
#include "util.h"
#include "wpool.h"

#define SWEEP_PAR	4	/* leftover removals at once */
#define LIST_MAX	512	/* sockproxy tracks at most this many */
#define RETRY_IDLE_MS	1000	/* the longest wait between looks */
#define FAILED_MS	500	/* the least wait after a resync that could not list */

struct sweep {
	char		ids[LIST_MAX][DK_ID_LEN + 1];
	int		n;
	atomic_int	next;
};

static atomic_ullong resyncs;
/* the start-up list failed (sockproxy down): the first resync sweeps */
static int sweep_pending;

uint64_t
resync_count(void)
{
	return atomic_load(&resyncs);
}

static void *
sweep_worker(void *arg)
{
	struct sweep *sw = arg;
	struct dk dk;
	int i;

	dk_open(&dk, privd.sockproxy);
	while ((i = atomic_fetch_add(&sw->next, 1)) < sw->n) {
		if (dk_remove(&dk, sw->ids[i]) < 0 && dk.status != 404) {
			log_warnx("resync_sweep: remove %.12s: %s: retried",
			    sw->ids[i], dk.err);
			sandbox_retry_add(sw->ids[i]);
			continue;
		}
		record_swept();		/* counted before the line says it */
		log_info("resync_sweep: removed leftover sandbox %.12s", sw->ids[i]);
	}
	dk_close(&dk);
	return NULL;
}

/* the leftovers, SWEEP_PAR at a time, while privd already answers */
static void *
sweep_thread(void *arg)
{
	struct sweep *sw = arg;
	pthread_t t[SWEEP_PAR];
	int i, k = 0;

	for (i = 0; i < SWEEP_PAR && i < sw->n; i++)
		if (cw_thread_spawn(&t[k], sweep_worker, sw, 128 * 1024) == 0)
			k++;
	if (k == 0)
		sweep_worker(sw);	/* no thread: one at a time, here */
	for (i = 0; i < k; i++)
		pthread_join(t[i], NULL);
	log_info("resync_sweep: %d leftover(s) handled", sw->n);
	free(sw);
	return NULL;
}

/* is id among ids[0..n)? */
static int
listed(char ids[][DK_ID_LEN + 1], int n, const char *id)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

/*
 * The start-up sweep, late: what sockproxy lists that privd never had, in
 * neither the live list taken before the list nor the one taken after it
 * (a sandbox being created is in the second). Their count.
 */
static size_t
late_sweep(struct dk *dk, char known[][DK_ID_LEN + 1], int nk,
    char before[][DK_ID_LEN + 1], size_t nb)
{
	static char after[SANDBOX_LIVE_MAX][DK_ID_LEN + 1];
	size_t na = sandbox_list(after), n = 0;
	int k;

	for (k = 0; k < nk; k++) {
		if (listed(before, (int)nb, known[k]) ||
		    listed(after, (int)na, known[k]))
			continue;
		if (dk_remove(dk, known[k]) < 0 && dk->status != 404) {
			sandbox_retry_add(known[k]);
			continue;
		}
		record_swept();
		log_info("resync_sweep: removed leftover sandbox %.12s", known[k]);
		n++;
	}
	return n;
}

/* one resync: 0, or -1 when sockproxy could not list (tried again) */
static int
resync(struct dk *dk)
{
	static char pooled[SANDBOX_LIVE_MAX][DK_ID_LEN + 1];
	static char live[SANDBOX_LIVE_MAX][DK_ID_LEN + 1];
	static char known[LIST_MAX][DK_ID_LEN + 1];
	static int running[LIST_MAX];
	size_t np, nl, i, gone = 0, stopped = 0, busy = 0, swept = 0;
	int nk, k;

	np = pool_drop(pooled, SANDBOX_LIVE_MAX);
	/* the idle workers too: their channels went with an old sockproxy */
	np += wpool_drop(pooled + np, SANDBOX_LIVE_MAX - np);
	for (i = 0; i < np; i++)
		sandbox_remove(dk, pooled[i]);
	/* the live list before the list: a sandbox made after it is not judged */
	nl = sandbox_list(live);
	if ((nk = dk_list(dk, known, running, LIST_MAX)) < 0) {
		log_warnx("resync: list: %s", dk->err);
		return -1;
	}
	if (sweep_pending) {
		swept = late_sweep(dk, known, nk, live, nl);
		sweep_pending = 0;
	}
	for (i = 0; i < nl; i++)
		if (!listed(known, nk, live[i]))
			gone += (size_t)sandbox_forget(live[i]);
	for (k = 0; k < nk; k++) {
		if (running[k])
			continue;
		if (sandbox_used(known[k])) {
			busy++;		/* its run removes it */
			continue;
		}
		sandbox_remove(dk, known[k]);
		stopped++;
	}
	atomic_fetch_add(&resyncs, 1);
	log_info("resync: pool dropped %zu, gone %zu, stopped removed %zu, "
	    "left to their runs %zu, leftovers swept %zu, removals retried %zu, "
	    "live %u", np, gone, stopped, busy, swept, sandbox_retry_count(),
	    sandbox_count());
	return 0;
}

static void *
resync_thread(void *arg)
{
	uint32_t seen = (uint32_t)(uintptr_t)arg, e;
	struct dk dk;

	dk_open(&dk, privd.sockproxy);
	while (!privd.stopping) {
		uint64_t next = sandbox_retry(&dk), now = cw_now_ms(), ms;

		ms = next <= now ? 10 : next - now;
		if (ms > RETRY_IDLE_MS)
			ms = RETRY_IDLE_MS;
		if ((e = dkh_peer_wait(seen, ms)) == seen || privd.stopping)
			continue;
		seen = e;
		if (resync(&dk) != 0) {
			/* the next answer after this failure resyncs again */
			struct timespec ts = { 0, FAILED_MS * 1000000L };

			dkh_peer_doubt();
			nanosleep(&ts, NULL);
		}
	}
	dk_close(&dk);
	return NULL;
}

void
resync_start(void)
{
	struct sweep *sw;
	struct dk dk;
	uint32_t seen;

	if ((sw = calloc(1, sizeof(*sw))) == NULL)
		fatalx("resync_start: out of memory");
	dk_open(&dk, privd.sockproxy);
	/* the list alone before answering; sockproxy down: its own sweep */
	if ((sw->n = dk_list(&dk, sw->ids, NULL, LIST_MAX)) < 0) {
		log_warnx("resync_sweep: list: %s: swept at the first resync",
		    dk.err);
		sw->n = 0;
		sweep_pending = 1;
		dkh_peer_doubt();
	}
	dk_close(&dk);
	/* whatever the list saw is the start: no resync for it */
	seen = dkh_peer_epoch();
	if (sw->n == 0)
		free(sw);
	else if (cw_thread_spawn(NULL, sweep_thread, sw, 128 * 1024) != 0)
		fatal("resync_start: pthread_create");
	if (cw_thread_spawn(NULL, resync_thread, (void *)(uintptr_t)seen,
	    128 * 1024) != 0)
		fatal("resync_start: pthread_create");
}
