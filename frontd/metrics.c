#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "current.h"
#include "health.h"
#include "log.h"
#include "policy.h"
#include "privsep.h"

#define METRICS_TEXT_MAX	(64 * 1024)

_Static_assert(IPC_LANGS == LANG_COUNT, "IPC_LANGS is policy.h's LANG_COUNT");

static const unsigned int codes[METRICS_CODES] = {
	200, 400, 401, 403, 404, 405, 413, 422, 429, 500, 502, 503, 504,
};
static const char *const auth_reasons[METRICS_AUTH_REASONS] = {
	[METRICS_AUTH_MISSING] = "missing", [METRICS_AUTH_INVALID] = "invalid",
	[METRICS_AUTH_LIMITED] = "limited",
};

static struct metrics_http counters;

static void
add(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

void
metrics_http_received(uint64_t n)
{
	add(&counters.received, n);
}

void
metrics_http_response(unsigned int status, uint64_t body_bytes)
{
	size_t i;

	for (i = 0; i < METRICS_CODES && codes[i] != status; i++)
		;
	add(&counters.codes[i], 1);
	add(&counters.sent, body_bytes);
}

void
metrics_http_sent(uint64_t n)
{
	add(&counters.sent, n);
}

static uint64_t walk_skipped[TAR_SKIPS];

void
metrics_walk_skipped(const size_t skipped[TAR_SKIPS])
{
	size_t i;

	for (i = 0; i < TAR_SKIPS; i++)
		add(&walk_skipped[i], skipped[i]);
}

void
metrics_http_snapshot(struct metrics_http *out)
{
	struct auth_counters a;
	size_t i;

	out->received = __atomic_load_n(&counters.received, __ATOMIC_RELAXED);
	out->sent = __atomic_load_n(&counters.sent, __ATOMIC_RELAXED);
	for (i = 0; i <= METRICS_CODES; i++)
		out->codes[i] = __atomic_load_n(&counters.codes[i], __ATOMIC_RELAXED);
	auth_counters(&a);
	snprintf(out->policy, sizeof(out->policy), "%s",
	    current_policy() != NULL ? current_policy()->id : "");
	out->auth[METRICS_AUTH_MISSING] = a.missing;
	out->auth[METRICS_AUTH_INVALID] = a.failed;
	out->auth[METRICS_AUTH_LIMITED] = a.limited;
	for (i = 0; i < TAR_SKIPS; i++)
		out->walk_skipped[i] = __atomic_load_n(&walk_skipped[i], __ATOMIC_RELAXED);
}

struct text {
	char	*buf;
	size_t	len, used;
	int	overflow;
};

static void
emit(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
emit(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->len - t->used) {
		t->overflow = 1;
		return;
	}
	t->used += (size_t)n;
}

static void
family(struct text *t, const char *name, const char *type, const char *help)
{
	emit(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
one(struct text *t, const char *name, const char *type, const char *help,
    uint64_t v)
{
	family(t, name, type, help);
	emit(t, "%s %llu\n", name, (unsigned long long)v);
}

static void
histogram(struct text *t, const char *name, const char *help,
    const struct ipc_hist *h, const uint32_t *bounds_ms)
{
	uint64_t cum = 0;
	unsigned int i;

	family(t, name, "histogram", help);
	for (i = 0; i < IPC_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		if (i < IPC_HIST_BUCKETS - 1)
			emit(t, "%s_bucket{le=\"%g\"} %llu\n", name,
			    bounds_ms[i] / 1000.0, (unsigned long long)cum);
		else
			emit(t, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			    (unsigned long long)cum);
	}
	emit(t, "%s_sum %llu.%06llu\n", name,
	    (unsigned long long)(h->sum_us / 1000000),
	    (unsigned long long)(h->sum_us % 1000000));
	emit(t, "%s_count %llu\n", name, (unsigned long long)cum);
}

static void
privd_part(struct text *t, const struct ipc_metrics_reply *p)
{
	unsigned int l, o;

	family(t, "codeward_executions_total", "counter",
	    "Executions that reached privd, by language and how they ended.");
	for (l = 0; l < IPC_LANGS; l++)
		for (o = 0; o < IPC_OUTCOMES; o++)
			emit(t, "codeward_executions_total{lang=\"%s\",outcome=\"%s\"} %llu\n",
			    policy_lang_name((enum policy_lang)l), ipc_outcome_name(o),
			    (unsigned long long)p->execs[l][o]);
	histogram(t, "codeward_execution_duration_seconds",
	    "Time from admission to answer, of every execution that reached privd.",
	    &p->duration, ipc_duration_bounds_ms);
	histogram(t, "codeward_queue_wait_seconds",
	    "Time an admitted execution waited for a started sandbox (warm pool or create and start).",
	    &p->wait, ipc_wait_bounds_ms);
	/* the admission queue: runs over total or per-user wait for a slot */
	one(t, "codeward_admission_queue_length", "gauge",
	    "Executions waiting in the admission queue for a slot (total or per-user reached).",
	    p->queue_len);
	one(t, "codeward_admission_queue_capacity", "gauge",
	    "Executions the admission queue holds (the policy's queue).", p->queue_max);
	one(t, "codeward_admission_waits_total", "counter",
	    "Executions that waited in the admission queue, whatever came of it.", p->queue_waits);
	family(t, "codeward_admission_wait_seconds_total", "counter",
	    "Time executions waited in the admission queue, summed.");
	emit(t, "codeward_admission_wait_seconds_total %llu.%03llu\n",
	    (unsigned long long)(p->queue_wait_ms / 1000),
	    (unsigned long long)(p->queue_wait_ms % 1000));
	family(t, "codeward_admission_refusals_total", "counter",
	    "Executions the admission queue refused (429), by reason: full at once, timeout after queue-wait, stop (a reload shortened the queue or privd stopped).");
	for (o = 0; o < IPC_QUEUE_REFUSALS; o++)
		emit(t, "codeward_admission_refusals_total{reason=\"%s\"} %llu\n",
		    o == IPC_QUEUE_FULL ? "full" : o == IPC_QUEUE_TIMEOUT ? "timeout" : "stop",
		    (unsigned long long)p->queue_refused[o]);
	one(t, "codeward_executions_running", "gauge",
	    "Executions admitted and not yet finished (their sandbox is removed after the answer).", p->running);
	one(t, "codeward_sandboxes_active", "gauge",
	    "Sandbox containers that exist now: running an execution or waiting in the pool.",
	    p->live);
	one(t, "codeward_pool_ready", "gauge",
	    "Started, never-used sandboxes waiting in the warm pool (under isolation jail: idle workers).", p->pool_ready);
	one(t, "codeward_pool_capacity", "gauge",
	    "Sandboxes the warm pool holds when full (the policy's pool, for each image and kind it keeps; under isolation jail the idle workers an image keeps at most, the larger of pool and total).",
	    p->pool_target);
	one(t, "codeward_sandboxes_created_total", "counter",
	    "Sandbox containers created.", p->created);
	one(t, "codeward_sandboxes_removed_total", "counter",
	    "Sandbox containers removed after use or at shutdown.", p->removed);
	one(t, "codeward_sandboxes_swept_total", "counter",
	    "Leftover sandboxes of an earlier process removed at start-up.", p->swept);
	one(t, "codeward_sandbox_resyncs_total", "counter",
	    "Times privd rebuilt its pool and live list from sockproxy's (sockproxy or the engine restarted).",
	    p->resyncs);
	one(t, "codeward_sandbox_bytes_in_total", "counter",
	    "Bytes of code and input files copied into sandboxes.", p->bytes_in);
	one(t, "codeward_sandbox_bytes_out_total", "counter",
	    "Bytes of output streams and work-directory archives relayed from sandboxes.",
	    p->bytes_out);
	one(t, "codeward_health_checks_total", "counter",
	    "Health checks privd made of sockproxy (at most one at a time; frontd answers GET /v1/health from the last for 1 s).",
	    p->health_checks);
	one(t, "codeward_sockproxy_up", "gauge",
	    "1 when sockproxy answered privd's request for its counters.", p->proxy_up);
	if (p->proxy_up) {
		family(t, "codeward_sockproxy_refusals_total", "counter",
		    "Requests sockproxy refused, by class (each also an audit line).");
		for (o = 0; o < IPC_REFUSALS; o++)
			emit(t, "codeward_sockproxy_refusals_total{class=\"%s\"} %llu\n",
			    ipc_refusal_name(o), (unsigned long long)p->refusals[o]);
	}
}

int
metrics_format(const struct metrics_http *h, const struct ipc_metrics_reply *p,
    char *buf, size_t len)
{
	struct text t = { buf, len, 0, 0 };
	unsigned int i;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	/* the id without its "sha256:": the label names the algorithm */
	family(&t, "codeward_policy_info", "gauge",
	    "The policy in force: the sha256 of its file's bytes (codeward-policy check prints it; every audit line carries it).");
	emit(&t, "codeward_policy_info{sha256=\"%s\"} 1\n",
	    strncmp(h->policy, "sha256:", 7) == 0 ? h->policy + 7 : h->policy);
	one(&t, "codeward_privd_up", "gauge",
	    "1 when privd answered this scrape; its metrics are absent otherwise.",
	    p != NULL);
	if (p != NULL)
		privd_part(&t, p);
	family(&t, "codeward_http_responses_total", "counter",
	    "HTTP answers frontd sent, by status code.");
	for (i = 0; i < METRICS_CODES; i++)
		emit(&t, "codeward_http_responses_total{code=\"%u\"} %llu\n", codes[i],
		    (unsigned long long)h->codes[i]);
	emit(&t, "codeward_http_responses_total{code=\"other\"} %llu\n",
	    (unsigned long long)h->codes[METRICS_CODES]);
	one(&t, "codeward_http_received_bytes_total", "counter",
	    "Request body bytes received (uploads, exec requests).", h->received);
	one(&t, "codeward_http_sent_bytes_total", "counter",
	    "Response body bytes sent (downloads, exec answers).", h->sent);
	family(&t, "codeward_auth_failures_total", "counter",
	    "Requests refused for their credentials, by reason (limited: a failed credential from a client address over its budget of failures, answered 429).");
	for (i = 0; i < METRICS_AUTH_REASONS; i++)
		emit(&t, "codeward_auth_failures_total{reason=\"%s\"} %llu\n",
		    auth_reasons[i], (unsigned long long)h->auth[i]);
	family(&t, "codeward_output_entries_skipped_total", "counter",
	    "Entries of a run's work-directory archive not returned, by reason (a name or component too long, an unsafe name, a link or other type, a file over the upload cap); the walk goes on past each.");
	for (i = 0; i < TAR_SKIPS; i++)
		emit(&t, "codeward_output_entries_skipped_total{reason=\"%s\"} %llu\n",
		    tar_skip_name((enum tar_skip)i), (unsigned long long)h->walk_skipped[i]);
	return t.overflow ? -1 : (int)t.used;
}

void
metrics_reply(struct reply *r)
{
	struct ipc_metrics_reply p;
	struct metrics_http h;
	char *buf;
	int n, have;

	have = health_metrics(&p) == 0;
	metrics_http_snapshot(&h);
	if ((buf = malloc(METRICS_TEXT_MAX)) == NULL) {
		reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	if ((n = metrics_format(&h, have ? &p : NULL, buf, METRICS_TEXT_MAX)) < 0) {
		free(buf);
		reply_error(r, 500, "internal", "metrics larger than %d bytes",
		    METRICS_TEXT_MAX);
		return;
	}
	r->status = 200;
	r->body = buf;
	r->len = (size_t)n;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}
