/*
 * The effective policy, printed back in the file's own syntax (parsing the
 * output gives the same struct), and sizes, times and CPUs in the units an
 * auditor reads.
 */
#include "parser.h"

#include <stdarg.h>
#include <stdio.h>

/* --- values, in the units an auditor reads --------------------------------- */

const char *
policy_fmt_size(char *b, size_t n, uint64_t v)
{
	if (v != 0 && v % (1ULL << 30) == 0)
		snprintf(b, n, "%lluG", (unsigned long long)(v >> 30));
	else if (v != 0 && v % (1ULL << 20) == 0)
		snprintf(b, n, "%lluM", (unsigned long long)(v >> 20));
	else if (v != 0 && v % (1ULL << 10) == 0)
		snprintf(b, n, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(b, n, "%llu", (unsigned long long)v);
	return b;
}

const char *
policy_fmt_ms(char *b, size_t n, uint64_t ms)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(b, n, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(b, n, "%llum", (unsigned long long)(ms / 60000));
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(b, n, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(b, n, "%llums", (unsigned long long)ms);
	return b;
}

const char *
parser_fmt_cpus(char *b, size_t n, uint64_t nano)
{
	uint64_t milli = nano / 1000000ULL;

	if (milli % 1000 == 0)
		snprintf(b, n, "%llu", (unsigned long long)(milli / 1000));
	else if (milli % 100 == 0)
		snprintf(b, n, "%llu.%01llu", (unsigned long long)(milli / 1000),
		    (unsigned long long)(milli % 1000 / 100));
	else if (milli % 10 == 0)
		snprintf(b, n, "%llu.%02llu", (unsigned long long)(milli / 1000),
		    (unsigned long long)(milli % 1000 / 10));
	else
		snprintf(b, n, "%llu.%03llu", (unsigned long long)(milli / 1000),
		    (unsigned long long)(milli % 1000));
	return b;
}

/* --- the effective policy, printed ----------------------------------------- */

struct out {
	char	*buf;
	size_t	len, used;
	int	overflow;
};

static void
emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used) {
		o->overflow = 1;
		return;
	}
	o->used += (size_t)n;
}

int
policy_format(const struct policy *p, char *buf, size_t len)
{
	static const char *const auth_names[] = {
		[AUTH_API_KEY] = "api-key", [AUTH_JWT] = "jwt",
		[AUTH_API_KEY_JWT] = "api-key+jwt", [AUTH_NONE] = "none",
	};
	struct out o = { buf, len, 0, 0 };
	char a[32], b[32], net[64];
	size_t i, k;
	int l;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	emit(&o, "[images]\n");
	for (i = 0; i < p->nimages; i++)
		emit(&o, "%-15s %s\n", p->images[i].name, p->images[i].ref);
	for (l = 0; l < LANG_COUNT; l++) {
		const struct policy_language *pl = &p->langs[l];

		if (!pl->enabled)
			continue;
		emit(&o, "\n[language %s]\nimage           %s\nrunner         ",
		    policy_lang_name(l), p->images[pl->image].name);
		for (k = 0; k < pl->argc; k++)
			emit(&o, " %s", pl->argv[k]);
		emit(&o, "\n");
	}
	emit(&o, "\n[sandbox]\n");
	emit(&o, "user            %u\n", p->uid);
	emit(&o, "memory          %s\n", policy_fmt_size(a, sizeof(a), p->memory));
	emit(&o, "swap            %s\n", policy_fmt_size(a, sizeof(a), p->swap));
	emit(&o, "cpus            %s\n", parser_fmt_cpus(a, sizeof(a), p->nano_cpus));
	emit(&o, "pids            %u\n", p->pids);
	emit(&o, "open-files      %u\n", p->open_files);
	emit(&o, "tmp-size        %s\n", policy_fmt_size(a, sizeof(a), p->tmp_size));
	emit(&o, "tmp-files       %u\n", p->tmp_files);
	emit(&o, "workdir-size    %s\n", policy_fmt_size(a, sizeof(a), p->workdir_size));
	emit(&o, "workdir-files   %u\n", p->workdir_files);
	emit(&o, "shm-size        %s\n", policy_fmt_size(a, sizeof(a), p->shm_size));
	emit(&o, "network         %s\n", p->network[0] ? p->network : "none");
	switch (p->gpu) {
	case GPU_NONE:
		emit(&o, "gpu             none\n");
		break;
	case GPU_ALL:
		emit(&o, "gpu             all\n");
		break;
	case GPU_COUNT:
		emit(&o, "gpu             %u\n", p->gpu_count);
		break;
	case GPU_IDS:
		emit(&o, "gpu             ids:");
		for (i = 0; i < p->ngpu_ids; i++)
			emit(&o, "%s%s", i ? "," : "", p->gpu_ids[i]);
		emit(&o, "\n");
		break;
	}
	emit(&o, "runtime         %s\n", p->runtime == RUNTIME_RUNSC ? "runsc" : "runc");
	emit(&o, "isolation       %s\nreuse           %u\nworker-age      %s\n",
	    p->isolation == ISOLATION_JAIL ? "jail" : "container", p->reuse,
	    policy_fmt_ms(a, sizeof(a), p->worker_age_ms));
	emit(&o, "jail-seccomp    %s\n", p->jail_seccomp[0] ? p->jail_seccomp : "none");
	emit(&o, "jail-runsc-caps %s\n", p->jail_runsc_caps ? POLICY_JAIL_RUNSC_CAPS : "none");
	emit(&o, "inputs          %s\n", p->inputs == INPUTS_INBOX ? "inbox" : "stream");
	emit(&o, "\n[time]\ndefault         %s\nmax             %s\n",
	    policy_fmt_ms(a, sizeof(a), p->time_default_ms), policy_fmt_ms(b, sizeof(b), p->time_max_ms));
	emit(&o, "\n[output]\nstdout          %s\n", policy_fmt_size(a, sizeof(a), p->stdout_max));
	emit(&o, "stderr          %s\n", policy_fmt_size(a, sizeof(a), p->stderr_max));
	emit(&o, "\n[files]\ncode-max        %s\n", policy_fmt_size(a, sizeof(a), p->code_max));
	emit(&o, "upload-max      %s\n", policy_fmt_size(a, sizeof(a), p->upload_max));
	emit(&o, "per-execution   %u\n", p->files_per_exec);
	emit(&o, "per-session     %u\n", p->files_per_session);
	emit(&o, "lifetime        %s\n", policy_fmt_ms(a, sizeof(a), (uint64_t)p->lifetime_s * 1000));
	emit(&o, "user-quota      %s\n", policy_fmt_size(a, sizeof(a), p->user_quota));
	emit(&o, "store-quota     %s\n", policy_fmt_size(a, sizeof(a), p->store_quota));
	emit(&o, "free-space-floor %s\n", policy_fmt_size(a, sizeof(a), p->free_space_floor));
	emit(&o, "\n[concurrency]\ntotal           %u\nper-user        %u\npool            %u\n",
	    p->conc_total, p->conc_per_user, p->pool);
	emit(&o, "prewarm         %s\n", p->prewarm & (1u << LANG_PY) ? "py" : "none");
	emit(&o, "sessions        %u\n", p->sessions);
	emit(&o, "session-idle    %s\n", policy_fmt_ms(a, sizeof(a), p->session_idle_ms));
	emit(&o, "connections     %u\nconnections-per-address %u\n", p->conn_max,
	    p->conn_per_address);
	emit(&o, "header-timeout  %s\n",
	    policy_fmt_ms(a, sizeof(a), (uint64_t)p->header_timeout_s * 1000));
	emit(&o, "queue           %u\nqueue-wait      %s\n", p->queue,
	    policy_fmt_ms(a, sizeof(a), p->queue_wait_ms));
	emit(&o, "\n[auth]\nmode            %s\n",
	    (unsigned)p->auth < sizeof(auth_names) / sizeof(auth_names[0]) &&
	    auth_names[p->auth] != NULL ? auth_names[p->auth] : "?");
	emit(&o, "keys            %s\n", p->keys_path);
	emit(&o, "jwt-public-key  %s\n", p->jwt_key_path[0] ? p->jwt_key_path : "none");
	emit(&o, "jwt-issuer      %s\njwt-audience    %s\njwt-alg         %s\n",
	    p->jwt_issuer, p->jwt_audience, p->jwt_alg);
	emit(&o, "trusted-proxies%s", p->nproxies == 0 ? " none" : "");
	for (i = 0; i < p->nproxies; i++)
		emit(&o, " %s", policy_net_format(net, sizeof(net), &p->proxies[i]));
	emit(&o, "\n");
	emit(&o, "\n[metrics]\nlisten          %s\nauth            %s\n",
	    p->metrics == METRICS_API ? "api" : p->metrics == METRICS_OFF ?
	    "none" : p->metrics_listen, p->metrics_auth ? "api" : "none");
	emit(&o, "\n[programmatic]\nround-trips     %u\n", p->ptc_round_trips);
	emit(&o, "result-max      %s\n", policy_fmt_size(a, sizeof(a), p->ptc_result_max));
	emit(&o, "token-ttl       %s\n", policy_fmt_ms(a, sizeof(a), p->ptc_token_ttl_ms));
	emit(&o, "workspace-files %u\n", p->ws_files);
	emit(&o, "workspace-size  %s\n", policy_fmt_size(a, sizeof(a), p->ws_size));
	emit(&o, "workspace-lifetime %s\n", policy_fmt_ms(a, sizeof(a), (uint64_t)p->ws_lifetime_s * 1000));
	emit(&o, "\n[store]\nbackend         %s\n", p->store_backend == STORE_S3 ? "s3" : "local");
	emit(&o, "endpoint        %s\n", p->s3_endpoint[0] ? p->s3_endpoint : "none");
	emit(&o, "bucket          %s\nregion          %s\n", p->s3_bucket, p->s3_region);
	emit(&o, "credentials     %s\n", p->s3_credentials[0] ? p->s3_credentials : "none");
	return o.overflow ? -1 : 0;
}
