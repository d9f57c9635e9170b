#include "record.h"

#include <pthread.h>
#include <string.h>

#include "audit.h"
#include "log.h"
#include "policy.h"

_Static_assert(IPC_LANGS == LANG_COUNT, "IPC_LANGS is policy.h's LANG_COUNT");
_Static_assert(AUDIT_POLICY_MAX == POLICY_ID_LEN, "an audit line holds a policy id");

static pthread_mutex_t	record_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t	created, removed, swept, bytes_in, bytes_out;
	uint64_t	execs[IPC_LANGS][IPC_OUTCOMES];
	struct ipc_hist	duration, wait;
} tally;

static const char *const status_names[] = {
	[IPC_ST_OK] = "ok", [IPC_ST_BUSY] = "busy", [IPC_ST_REFUSED] = "refused",
	[IPC_ST_TOO_LARGE] = "too_large", [IPC_ST_UNAVAILABLE] = "unavailable",
};
static const char *const kill_names[] = {
	[IPC_KILL_NONE] = "none", [IPC_KILL_TIME] = "time",
	[IPC_KILL_MEMORY] = "memory", [IPC_KILL_OUTPUT] = "output",
};

unsigned int
record_outcome(const struct ipc_exec_done *d)
{
	switch (d->status) {
	case IPC_ST_OK:
		break;
	case IPC_ST_BUSY:
		return IPC_OUT_BUSY;
	case IPC_ST_REFUSED:
		return IPC_OUT_REFUSED;
	case IPC_ST_TOO_LARGE:
		return IPC_OUT_TOO_LARGE;
	default:
		return IPC_OUT_UNAVAILABLE;
	}
	switch (d->kill) {
	case IPC_KILL_TIME:
		return IPC_OUT_TIME;
	case IPC_KILL_MEMORY:
		return IPC_OUT_MEMORY;
	case IPC_KILL_OUTPUT:
		return IPC_OUT_OUTPUT;
	default:
		return d->exit_code == 0 ? IPC_OUT_OK : IPC_OUT_ERROR;
	}
}

static void
audit_limits(struct audit *a, const struct policy *p, const struct job *j)
{
	static const char *const gpus[] = {
		[GPU_NONE] = "none", [GPU_ALL] = "all", [GPU_COUNT] = "count",
		[GPU_IDS] = "ids",
	};

	audit_obj_begin(a, "limits");
	audit_u64(a, "time_ms", j->timeout_ms);
	audit_u64(a, "memory", p->memory);
	audit_u64(a, "swap", p->swap);
	audit_u64(a, "nano_cpus", p->nano_cpus);
	audit_u64(a, "pids", p->pids);
	audit_u64(a, "tmp", p->tmp_size);
	audit_u64(a, "workdir", p->workdir_size);
	audit_u64(a, "stdout", p->stdout_max);
	audit_u64(a, "stderr", p->stderr_max);
	audit_str(a, "network", p->network[0] ? p->network : "none");
	audit_str(a, "runtime", p->runtime == RUNTIME_RUNSC ? "runsc" : "runc");
	audit_str(a, "gpu", gpus[p->gpu]);
	audit_obj_end(a);
}

static void
audit_exec(const struct job *j, const struct ipc_exec_done *d,
    const struct record_run *rr, unsigned int outcome)
{
	const struct policy *p = j->policy;
	const char *image = policy_lang_image(p, j->lang);
	struct audit a;
	uint64_t files_bytes = 0;
	uint32_t i;

	for (i = 0; i < j->nrecv; i++)
		files_bytes += j->files[i].size;
	audit_begin(&a, "exec", p->id);
	audit_u64(&a, "run", j->id);
	audit_str(&a, "user", j->user);
	audit_str(&a, "lang", j->lang >= 0 ? policy_lang_name(j->lang) : "");
	if (image != NULL)
		audit_str(&a, "image", image);
	else
		audit_null(&a, "image");
	audit_str(&a, "status", status_names[d->status]);
	audit_str(&a, "outcome", ipc_outcome_name(outcome));
	if (d->status == IPC_ST_OK && d->exit_code >= 0)
		audit_i64(&a, "exit", d->exit_code);
	else
		audit_null(&a, "exit");
	audit_str(&a, "kill", kill_names[d->kill]);
	if (d->status != IPC_ST_OK)
		audit_str(&a, "reason", d->message);
	audit_u64(&a, "duration_ms", d->duration_us / 1000);
	if (rr->waited)
		audit_u64(&a, "wait_ms", rr->wait_us / 1000);
	else
		audit_null(&a, "wait_ms");
	if (rr->container != NULL)
		audit_str(&a, "container", rr->container);
	else
		audit_null(&a, "container");
	audit_bool(&a, "pooled", rr->pooled);
	audit_u64(&a, "code_bytes", j->code_len);
	audit_u64(&a, "files_in", j->nrecv);
	audit_u64(&a, "files_in_bytes", files_bytes);
	audit_u64(&a, "output_bytes", d->output_len);
	audit_u64(&a, "archive_bytes", d->archive_len);
	audit_limits(&a, p, j);
	if (audit_end(&a) != 0)
		log_warn("audit: write");
}

void
record_exec(const struct job *j, const struct ipc_exec_done *d,
    const struct record_run *rr)
{
	unsigned int outcome = record_outcome(d);
	unsigned int b;

	audit_exec(j, d, rr, outcome);
	pthread_mutex_lock(&record_lock);
	if (j->lang >= 0 && j->lang < IPC_LANGS)
		tally.execs[j->lang][outcome]++;
	b = ipc_hist_bucket(ipc_duration_bounds_ms, d->duration_us);
	tally.duration.bucket[b]++;
	tally.duration.sum_us += d->duration_us;
	if (rr->waited) {
		b = ipc_hist_bucket(ipc_wait_bounds_ms, rr->wait_us);
		tally.wait.bucket[b]++;
		tally.wait.sum_us += rr->wait_us;
	}
	tally.bytes_in += rr->bytes_in;
	tally.bytes_out += d->output_len + d->archive_len;
	pthread_mutex_unlock(&record_lock);
}

void
record_created(void)
{
	pthread_mutex_lock(&record_lock);
	tally.created++;
	pthread_mutex_unlock(&record_lock);
}

void
record_removed(void)
{
	pthread_mutex_lock(&record_lock);
	tally.removed++;
	pthread_mutex_unlock(&record_lock);
}

void
record_swept(void)
{
	pthread_mutex_lock(&record_lock);
	tally.swept++;
	pthread_mutex_unlock(&record_lock);
}

void
record_fill(struct ipc_metrics_reply *m)
{
	pthread_mutex_lock(&record_lock);
	m->created = tally.created;
	m->removed = tally.removed;
	m->swept = tally.swept;
	m->bytes_in = tally.bytes_in;
	m->bytes_out = tally.bytes_out;
	memcpy(m->execs, tally.execs, sizeof(m->execs));
	m->duration = tally.duration;
	m->wait = tally.wait;
	pthread_mutex_unlock(&record_lock);
}
