/*
 * privd's record of an execution: the outcome of each EXEC_DONE, the audit
 * line's fields (one JSON line, the limits applied), and the counters a
 * METRICS_REPLY carries, all from the one call.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "util.h"

struct privd privd;		/* privd's main.c is not linked here */


#include "../lib/check.h"

static struct policy pol;

static cJSON *
record(const struct job *j, const struct ipc_exec_done *d,
    const struct record_run *rr)
{
	static char out[8192];
	int fd = cw_memfd("audit"), saved = dup(STDERR_FILENO);
	ssize_t n;

	if (fd < 0 || saved < 0 || dup2(fd, STDERR_FILENO) < 0)
		abort();
	record_exec(j, d, rr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	if (n <= 0 || out[n - 1] != '\n' || memchr(out, '\n', (size_t)n - 1) != NULL)
		return NULL;
	return cJSON_ParseWithLength(out, (size_t)n - 1);
}

static const char *
str(cJSON *j, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsString(v) ? v->valuestring : "(not a string)";
}

static double
num(cJSON *j, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static void
test_outcomes(void)
{
	struct ipc_exec_done d;

	memset(&d, 0, sizeof(d));
	CHECK(record_outcome(&d) == IPC_OUT_OK);
	d.exit_code = 3;
	CHECK(record_outcome(&d) == IPC_OUT_ERROR);
	d.exit_code = -1;
	CHECK(record_outcome(&d) == IPC_OUT_ERROR);
	d.kill = IPC_KILL_TIME;
	CHECK(record_outcome(&d) == IPC_OUT_TIME);
	d.kill = IPC_KILL_MEMORY;
	CHECK(record_outcome(&d) == IPC_OUT_MEMORY);
	d.kill = IPC_KILL_OUTPUT;
	CHECK(record_outcome(&d) == IPC_OUT_OUTPUT);
	d.kill = IPC_KILL_NONE;
	d.status = IPC_ST_BUSY;
	CHECK(record_outcome(&d) == IPC_OUT_BUSY);
	d.status = IPC_ST_REFUSED;
	CHECK(record_outcome(&d) == IPC_OUT_REFUSED);
	d.status = IPC_ST_TOO_LARGE;
	CHECK(record_outcome(&d) == IPC_OUT_TOO_LARGE);
	d.status = IPC_ST_UNAVAILABLE;
	CHECK(record_outcome(&d) == IPC_OUT_UNAVAILABLE);
}

static void
test_lines_and_counters(void)
{
	static struct job j;
	struct ipc_exec_done d;
	struct ipc_metrics_reply m;
	struct record_run rr;
	char err[256];
	cJSON *a, *l;
	const char *text =
	    "[images]\nsandbox sha256:0123456789012345678901234567890123456789012345678901234567890123\n"
	    "[language py]\nimage sandbox\nrunner /usr/local/bin/cw-run py\n"
	    "[sandbox]\nmemory 512M\npids 256\nruntime runsc\n";

	CHECK(policy_parse(text, strlen(text), "t", &pol, err, sizeof(err)) == 0);
	policy_id(text, strlen(text), pol.id);
	privd.policy = &pol;

	/* a run that got a sandbox, read two files and timed out */
	memset(&j, 0, sizeof(j));
	j.id = 42;
	j.policy = &pol;
	j.lang = LANG_PY;
	snprintf(j.user, sizeof(j.user), "user\"1");
	j.timeout_ms = 1500;
	j.code_len = 11;
	j.nrecv = 2;
	j.files[0].size = 100;
	j.files[1].size = 23;
	memset(&d, 0, sizeof(d));
	d.status = IPC_ST_OK;
	d.kill = IPC_KILL_TIME;
	d.exit_code = 137;
	d.duration_us = 1600000;
	d.output_len = 77;
	d.archive_len = 0;
	memset(&rr, 0, sizeof(rr));
	rr.container = "c0ffee";
	rr.pooled = 1;
	rr.waited = 1;
	rr.wait_us = 12000;
	rr.bytes_in = 134;
	a = record(&j, &d, &rr);
	CHECK(a != NULL);
	if (a == NULL)
		return;
	CHECK(strcmp(str(a, "audit"), "exec") == 0 && num(a, "v") == 1);
	/* the policy it ran under, by the sha256 of its bytes */
	CHECK(strncmp(str(a, "policy"), "sha256:", 7) == 0 &&
	    strcmp(str(a, "policy"), pol.id) == 0);
	CHECK(num(a, "run") == 42);
	CHECK(strcmp(str(a, "user"), "user\"1") == 0);
	CHECK(strcmp(str(a, "lang"), "py") == 0);
	CHECK(strcmp(str(a, "image"), pol.images[0].ref) == 0);
	CHECK(strcmp(str(a, "status"), "ok") == 0);
	CHECK(strcmp(str(a, "outcome"), "time") == 0);
	CHECK(strcmp(str(a, "kill"), "time") == 0);
	CHECK(num(a, "exit") == 137);
	CHECK(num(a, "duration_ms") == 1600 && num(a, "wait_ms") == 12);
	CHECK(strcmp(str(a, "container"), "c0ffee") == 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "pooled")));
	CHECK(num(a, "files_in") == 2 && num(a, "files_in_bytes") == 123);
	CHECK(num(a, "code_bytes") == 11 && num(a, "output_bytes") == 77);
	CHECK(cJSON_GetObjectItemCaseSensitive(a, "reason") == NULL);
	l = cJSON_GetObjectItemCaseSensitive(a, "limits");
	CHECK(cJSON_IsObject(l));
	CHECK(num(l, "time_ms") == 1500 && num(l, "memory") == 512.0 * 1024 * 1024);
	CHECK(num(l, "swap") == 512.0 * 1024 * 1024);
	CHECK(strcmp(str(l, "runtime"), "runsc") == 0);
	CHECK(strcmp(str(l, "network"), "none") == 0);
	CHECK(strcmp(str(l, "gpu"), "none") == 0);
	cJSON_Delete(a);

	/* a refusal at EXEC_RUN: no sandbox, its reason, exit null */
	memset(&d, 0, sizeof(d));
	d.status = IPC_ST_BUSY;
	d.exit_code = -1;
	snprintf(d.message, sizeof(d.message), "too many executions at once");
	a = record(&j, &d, &(struct record_run){ 0 });
	CHECK(a != NULL);
	if (a == NULL)
		return;
	CHECK(strcmp(str(a, "status"), "busy") == 0);
	CHECK(strcmp(str(a, "outcome"), "busy") == 0);
	CHECK(strcmp(str(a, "reason"), "too many executions at once") == 0);
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "exit")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "container")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "wait_ms")));
	cJSON_Delete(a);

	/* the counters moved with both */
	record_created();
	record_removed();
	record_swept();
	record_swept();
	memset(&m, 0, sizeof(m));
	record_fill(&m);
	CHECK(m.execs[LANG_PY][IPC_OUT_TIME] == 1);
	CHECK(m.execs[LANG_PY][IPC_OUT_BUSY] == 1);
	CHECK(m.execs[LANG_PY][IPC_OUT_OK] == 0);
	CHECK(m.duration.bucket[ipc_hist_bucket(ipc_duration_bounds_ms, 1600000)] == 1);
	CHECK(m.duration.bucket[0] == 1);		/* the refusal: 0 us */
	CHECK(m.duration.sum_us == 1600000);
	CHECK(m.wait.bucket[ipc_hist_bucket(ipc_wait_bounds_ms, 12000)] == 1);
	CHECK(m.wait.sum_us == 12000);			/* the refusal waited for none */
	CHECK(m.bytes_in == 134 && m.bytes_out == 77);
	CHECK(m.created == 1 && m.removed == 1 && m.swept == 2);
}

int
main(void)
{
	test_outcomes();
	test_lines_and_counters();
	return check_done("record");
}
