/*
 * metrics_format: the Prometheus text frontd answers GET /metrics with.
 * Every family has HELP then TYPE before its samples, names and labels keep
 * the grammar, histogram buckets are cumulative and end in +Inf equal to
 * _count, privd's families are absent when privd did not answer, sockproxy's
 * when sockproxy did not, and a buffer too small is an error, not a cut.
 * (tests/ops/test_metrics.py parses the live answer with Prometheus' own
 * parser.)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current.h"
#include "metrics.h"


#include "../lib/check.h"

static char text[64 * 1024];

/* the value of the sample line that starts with 'prefix' + ' ', or -1 */
static long long
sample(const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while ((p = strstr(p, prefix)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

static int
name_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!(isalpha((unsigned char)s[i]) || s[i] == '_' ||
		    (i > 0 && isdigit((unsigned char)s[i]))))
			return 0;
	return n > 0;
}

/* every line: "# HELP n text", "# TYPE n type" or "n[{l="v",...}] value" */
static void
check_grammar(void)
{
	char *save = NULL, *line, copy[sizeof(text)], family[128] = "";
	int typed = 0;

	memcpy(copy, text, sizeof(copy));
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp, *brace;
		size_t n;

		if (strncmp(line, "# HELP ", 7) == 0) {
			n = strcspn(line + 7, " ");
			CHECK(name_ok(line + 7, n));
			snprintf(family, sizeof(family), "%.*s", (int)n, line + 7);
			typed = 0;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			n = strcspn(line + 7, " ");
			CHECK(strncmp(line + 7, family, n) == 0 && family[n] == '\0');
			CHECK(strcmp(line + 8 + n, "counter") == 0 ||
			    strcmp(line + 8 + n, "gauge") == 0 ||
			    strcmp(line + 8 + n, "histogram") == 0);
			typed = 1;
			continue;
		}
		CHECK(line[0] != '#');
		/* a sample of the family just declared */
		CHECK(typed && strncmp(line, family, strlen(family)) == 0);
		sp = strrchr(line, ' ');
		CHECK(sp != NULL && sp[1] != '\0');
		if (sp == NULL)
			continue;
		CHECK(strspn(sp + 1, "0123456789.") == strlen(sp + 1));
		brace = memchr(line, '{', (size_t)(sp - line));
		n = brace != NULL ? (size_t)(brace - line) : (size_t)(sp - line);
		CHECK(name_ok(line, n));
		if (brace != NULL)
			CHECK(sp[-1] == '}' && strchr(brace, '"') != NULL);
	}
}

static void
test_without_privd(void)
{
	struct metrics_http h;

	memset(&h, 0, sizeof(h));
	h.codes[0] = 5;				/* 200 */
	h.codes[METRICS_CODES] = 2;		/* other */
	h.auth[METRICS_AUTH_MISSING] = 3;
	h.auth[METRICS_AUTH_LIMITED] = 4;
	h.received = 1234;
	snprintf(h.policy, sizeof(h.policy), "sha256:%064d", 7);
	CHECK(metrics_format(&h, NULL, text, sizeof(text)) > 0);
	check_grammar();
	/* the policy in force, even without privd: its hex digest as the label */
	CHECK(sample("codeward_policy_info{sha256=\"" "0000000000000000000000000000000000000000000000000000000000000007" "\"}") == 1);
	CHECK(strstr(text, "sha256=\"sha256:") == NULL);
	CHECK(sample("codeward_privd_up") == 0);
	CHECK(strstr(text, "codeward_executions_total") == NULL);
	CHECK(strstr(text, "codeward_sockproxy") == NULL);
	CHECK(sample("codeward_http_responses_total{code=\"200\"}") == 5);
	CHECK(sample("codeward_http_responses_total{code=\"other\"}") == 2);
	CHECK(sample("codeward_auth_failures_total{reason=\"missing\"}") == 3);
	CHECK(sample("codeward_auth_failures_total{reason=\"invalid\"}") == 0);
	CHECK(sample("codeward_auth_failures_total{reason=\"limited\"}") == 4);
	CHECK(sample("codeward_http_received_bytes_total") == 1234);
}

static void
test_with_privd(void)
{
	struct ipc_metrics_reply p;
	struct metrics_http h;
	int n;

	memset(&h, 0, sizeof(h));
	memset(&p, 0, sizeof(p));
	p.running = 2;
	p.live = 4;
	p.pool_ready = 1;
	p.pool_target = 2;
	p.created = 10;
	p.removed = 6;
	p.swept = 1;
	p.resyncs = 3;
	p.execs[0][IPC_OUT_OK] = 7;			/* py */
	p.execs[IPC_LANGS - 1][IPC_OUT_TIME] = 2;	/* bash */
	p.duration.bucket[0] = 1;
	p.duration.bucket[3] = 2;
	p.duration.bucket[IPC_HIST_BUCKETS - 1] = 4;
	p.duration.sum_us = 1500000;
	p.wait.bucket[2] = 3;
	p.wait.sum_us = 45000;
	p.proxy_up = 0;
	p.queue_len = 3;
	p.queue_max = 32;
	p.queue_waits = 5;
	p.queue_wait_ms = 12345;
	p.queue_refused[IPC_QUEUE_TIMEOUT] = 2;
	n = metrics_format(&h, &p, text, sizeof(text));
	CHECK(n > 0 && (size_t)n == strlen(text));
	check_grammar();
	CHECK(sample("codeward_privd_up") == 1);
	CHECK(sample("codeward_executions_total{lang=\"py\",outcome=\"ok\"}") == 7);
	CHECK(sample("codeward_executions_total{lang=\"bash\",outcome=\"time\"}") == 2);
	CHECK(sample("codeward_executions_total{lang=\"r\",outcome=\"unavailable\"}") == 0);
	/* cumulative buckets, +Inf equal to _count */
	CHECK(sample("codeward_execution_duration_seconds_bucket{le=\"0.1\"}") == 1);
	CHECK(sample("codeward_execution_duration_seconds_bucket{le=\"0.5\"}") == 1);
	CHECK(sample("codeward_execution_duration_seconds_bucket{le=\"1\"}") == 3);
	CHECK(sample("codeward_execution_duration_seconds_bucket{le=\"300\"}") == 3);
	CHECK(sample("codeward_execution_duration_seconds_bucket{le=\"+Inf\"}") == 7);
	CHECK(sample("codeward_execution_duration_seconds_count") == 7);
	CHECK(strstr(text, "\ncodeward_execution_duration_seconds_sum 1.500000\n") != NULL);
	CHECK(sample("codeward_queue_wait_seconds_bucket{le=\"0.025\"}") == 3);
	CHECK(sample("codeward_queue_wait_seconds_bucket{le=\"0.01\"}") == 0);
	CHECK(strstr(text, "\ncodeward_queue_wait_seconds_sum 0.045000\n") != NULL);
	CHECK(sample("codeward_executions_running") == 2);
	CHECK(sample("codeward_admission_queue_length") == 3);
	CHECK(sample("codeward_admission_queue_capacity") == 32);
	CHECK(sample("codeward_admission_waits_total") == 5);
	CHECK(strstr(text, "\ncodeward_admission_wait_seconds_total 12.345\n") != NULL);
	CHECK(sample("codeward_admission_refusals_total{reason=\"timeout\"}") == 2);
	CHECK(sample("codeward_admission_refusals_total{reason=\"full\"}") == 0);
	CHECK(sample("codeward_admission_refusals_total{reason=\"stop\"}") == 0);
	CHECK(sample("codeward_sandboxes_active") == 4);
	CHECK(sample("codeward_pool_ready") == 1);
	CHECK(sample("codeward_pool_capacity") == 2);
	CHECK(sample("codeward_sandboxes_swept_total") == 1);
	CHECK(sample("codeward_sandbox_resyncs_total") == 3);
	/* sockproxy did not answer: its refusals are absent, not zero */
	CHECK(sample("codeward_sockproxy_up") == 0);
	CHECK(strstr(text, "codeward_sockproxy_refusals_total") == NULL);

	p.proxy_up = 1;
	p.refusals[IPC_REFUSE_POLICY] = 9;
	CHECK(metrics_format(&h, &p, text, sizeof(text)) > 0);
	check_grammar();
	CHECK(sample("codeward_sockproxy_up") == 1);
	CHECK(sample("codeward_sockproxy_refusals_total{class=\"policy\"}") == 9);
	CHECK(sample("codeward_sockproxy_refusals_total{class=\"busy\"}") == 0);

	/* too small a buffer fails; it never hands out a cut text */
	CHECK(metrics_format(&h, &p, text, 1000) == -1);
	CHECK(metrics_format(&h, &p, text, 0) == -1);
}

static void
test_counters(void)
{
	struct metrics_http h;

	metrics_http_response(200, 10);
	metrics_http_response(429, 5);
	metrics_http_response(299, 1);		/* not listed: "other" */
	metrics_http_received(100);
	metrics_http_snapshot(&h);
	CHECK(h.codes[0] == 1 && h.codes[METRICS_CODES] == 1);
	/* no policy in force yet: an empty id, never a stale one */
	CHECK(h.policy[0] == '\0');
	/* then the id of the one in force, as it changes */
	{
		static struct policy a, b;

		snprintf(a.id, sizeof(a.id), "sha256:%064d", 1);
		snprintf(b.id, sizeof(b.id), "sha256:%064d", 2);
		current_set(&a);
		metrics_http_snapshot(&h);
		CHECK(strcmp(h.policy, a.id) == 0);
		current_set(&b);
		metrics_http_snapshot(&h);
		CHECK(strcmp(h.policy, b.id) == 0);
		current_set(NULL);
	}
	CHECK(h.sent == 16 && h.received == 100);
	/* auth.c counts nothing until a request is checked */
	CHECK(h.auth[METRICS_AUTH_INVALID] == 0 && h.auth[METRICS_AUTH_MISSING] == 0 &&
	    h.auth[METRICS_AUTH_LIMITED] == 0);
}

int
main(void)
{
	test_without_privd();
	test_with_privd();
	test_counters();
	if (failures)
		fprintf(stderr, "%s", text);
	return check_done("metrics");
}
