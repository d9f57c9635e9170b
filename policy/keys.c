/*
 * What the policy may say: the thirteen languages, the sections, and every
 * key of the numbered sections with its type, floor and ceiling, then the
 * defaults. policy/README.md documents the same table; a test checks that
 * the two agree.
 */
#include "parser.h"

#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "ustar.h"

static const char *const lang_names[LANG_COUNT] = {
	"py", "js", "ts", "c", "cpp", "java", "php", "rs", "go", "d", "f90",
	"r", "bash",
};

const char *
policy_lang_name(enum policy_lang l)
{
	return (unsigned)l < LANG_COUNT ? lang_names[l] : "?";
}

int
policy_lang_from_name(const char *name)
{
	int i;

	for (i = 0; i < LANG_COUNT; i++)
		if (strcmp(name, lang_names[i]) == 0)
			return i;
	return -1;
}

const char *
policy_lang_image(const struct policy *p, int lang)
{
	if (lang < 0 || lang >= LANG_COUNT || !p->langs[lang].enabled)
		return NULL;
	return p->images[p->langs[lang].image].ref;
}

uint64_t
policy_output_kill(const struct policy *p)
{
	return 2 * (p->stdout_max + p->stderr_max);
}

void
policy_chan_caps(const struct policy *p, struct frame_caps *k)
{
	k->input = p->workdir_size;
	k->files = p->workdir_files;
	k->code = p->code_max;
	k->output = policy_output_kill(p);
	/* every inode once with its header, two end blocks */
	k->archive = p->workdir_size +
	    ustar_out_headers_max(p->workdir_files) * USTAR_BLOCK + 2 * USTAR_BLOCK;
}

const char *const parser_sections[SEC_COUNT] = {
	[SEC_NONE] = "", [SEC_IMAGES] = "images", [SEC_LANGUAGE] = "language",
	[SEC_SANDBOX] = "sandbox", [SEC_TIME] = "time", [SEC_OUTPUT] = "output",
	[SEC_FILES] = "files", [SEC_CONCURRENCY] = "concurrency",
	[SEC_AUTH] = "auth", [SEC_METRICS] = "metrics",
	[SEC_PROGRAMMATIC] = "programmatic", [SEC_STORE] = "store",
};

#define OFF(f) offsetof(struct policy, f)

const struct key parser_keys[] = {
	{ SEC_SANDBOX, "user", V_COUNT, OFF(uid), 1, 65534, "the sandbox never runs as root" },
	{ SEC_SANDBOX, "memory", V_SIZE, OFF(memory), POLICY_MEMORY_FLOOR, POLICY_MEMORY_CEIL, NULL },
	{ SEC_SANDBOX, "swap", V_SIZE, OFF(swap), POLICY_MEMORY_FLOOR, 2 * POLICY_MEMORY_CEIL, NULL },
	{ SEC_SANDBOX, "cpus", V_CPUS, OFF(nano_cpus), NANO / 100, POLICY_CPUS_CEIL * NANO, NULL },
	{ SEC_SANDBOX, "pids", V_COUNT, OFF(pids), POLICY_PIDS_FLOOR, POLICY_PIDS_CEIL, NULL },
	{ SEC_SANDBOX, "open-files", V_COUNT, OFF(open_files), POLICY_NOFILE_FLOOR, POLICY_NOFILE_CEIL, NULL },
	{ SEC_SANDBOX, "tmp-size", V_SIZE, OFF(tmp_size), 1ULL << 20, POLICY_TMP_CEIL, NULL },
	{ SEC_SANDBOX, "tmp-files", V_COUNT, OFF(tmp_files), POLICY_INODES_FLOOR, POLICY_INODES_CEIL, NULL },
	{ SEC_SANDBOX, "workdir-size", V_SIZE, OFF(workdir_size), 1ULL << 20, POLICY_WORKDIR_CEIL, NULL },
	{ SEC_SANDBOX, "workdir-files", V_COUNT, OFF(workdir_files), POLICY_INODES_FLOOR, POLICY_INODES_CEIL, NULL },
	{ SEC_SANDBOX, "shm-size", V_SIZE, OFF(shm_size), 1ULL << 20, POLICY_SHM_CEIL, NULL },
	{ SEC_SANDBOX, "network", V_NETWORK, OFF(network), 0, 0, NULL },
	{ SEC_SANDBOX, "gpu", V_GPU, OFF(gpu), 0, 0, NULL },
	{ SEC_SANDBOX, "runtime", V_RUNTIME, OFF(runtime), 0, 0, NULL },
	{ SEC_SANDBOX, "isolation", V_ISOLATION, OFF(isolation), 0, 0, NULL },
	{ SEC_SANDBOX, "reuse", V_COUNT, OFF(reuse), 1, POLICY_REUSE_CEIL, NULL },
	{ SEC_SANDBOX, "worker-age", V_MS, OFF(worker_age_ms),
	    POLICY_WORKER_AGE_FLOOR_MS, POLICY_WORKER_AGE_CEIL_MS, NULL },
	{ SEC_SANDBOX, "jail-seccomp", V_DIGEST, OFF(jail_seccomp), 0, 0, NULL },
	{ SEC_SANDBOX, "jail-runsc-caps", V_JAIL_CAPS, OFF(jail_runsc_caps), 0, 0, NULL },
	{ SEC_SANDBOX, "inputs", V_INPUTS, OFF(inputs), 0, 0, NULL },
	{ SEC_TIME, "default", V_MS, OFF(time_default_ms), 100, POLICY_TIME_CEIL_MS, NULL },
	{ SEC_TIME, "max", V_MS, OFF(time_max_ms), 100, POLICY_TIME_CEIL_MS, NULL },
	{ SEC_OUTPUT, "stdout", V_SIZE, OFF(stdout_max), 1024, POLICY_OUTPUT_CEIL, NULL },
	{ SEC_OUTPUT, "stderr", V_SIZE, OFF(stderr_max), 1024, POLICY_OUTPUT_CEIL, NULL },
	{ SEC_FILES, "code-max", V_SIZE, OFF(code_max), 1024, POLICY_CODE_CEIL, NULL },
	{ SEC_FILES, "upload-max", V_SIZE, OFF(upload_max), 1024, POLICY_UPLOAD_CEIL, NULL },
	{ SEC_FILES, "per-execution", V_COUNT, OFF(files_per_exec), 0, POLICY_FILES_EXEC_CEIL, NULL },
	{ SEC_FILES, "per-session", V_COUNT, OFF(files_per_session), 1, POLICY_FILES_SESS_CEIL, NULL },
	{ SEC_FILES, "lifetime", V_SECONDS, OFF(lifetime_s), POLICY_LIFETIME_FLOOR_S, POLICY_LIFETIME_CEIL_S,
	    "LibreChat uploads a file again only when it is older than 23 hours" },
	{ SEC_FILES, "user-quota", V_SIZE, OFF(user_quota), 0, POLICY_QUOTA_CEIL, NULL },
	{ SEC_FILES, "store-quota", V_SIZE, OFF(store_quota), 0, POLICY_QUOTA_CEIL, NULL },
	{ SEC_FILES, "free-space-floor", V_SIZE, OFF(free_space_floor), 0, POLICY_QUOTA_CEIL, NULL },
	{ SEC_CONCURRENCY, "total", V_COUNT, OFF(conc_total), 1, PARSER_TOTAL_CEIL, NULL },
	{ SEC_CONCURRENCY, "per-user", V_COUNT, OFF(conc_per_user), 1, PARSER_TOTAL_CEIL, NULL },
	{ SEC_CONCURRENCY, "pool", V_COUNT, OFF(pool), 0, POLICY_POOL_CEIL, NULL },
	{ SEC_CONCURRENCY, "prewarm", V_PREWARM, OFF(prewarm), 0, 0, NULL },
	{ SEC_CONCURRENCY, "sessions", V_COUNT, OFF(sessions), 0, POLICY_SESSIONS_CEIL, NULL },
	{ SEC_CONCURRENCY, "session-idle", V_MS, OFF(session_idle_ms),
	    POLICY_SESSION_IDLE_FLOOR_MS, POLICY_SESSION_IDLE_CEIL_MS, NULL },
	{ SEC_CONCURRENCY, "connections", V_COUNT, OFF(conn_max), POLICY_CONN_FLOOR, POLICY_CONN_CEIL, NULL },
	{ SEC_CONCURRENCY, "connections-per-address", V_COUNT, OFF(conn_per_address), 1, POLICY_CONN_CEIL, NULL },
	{ SEC_CONCURRENCY, "header-timeout", V_SECONDS, OFF(header_timeout_s), 1, POLICY_HEADER_TIMEOUT_CEIL_S, NULL },
	{ SEC_CONCURRENCY, "queue", V_COUNT, OFF(queue), 0, POLICY_QUEUE_CEIL, NULL },
	{ SEC_CONCURRENCY, "queue-wait", V_MS, OFF(queue_wait_ms),
	    POLICY_QUEUE_WAIT_FLOOR_MS, POLICY_QUEUE_WAIT_CEIL_MS, NULL },
	{ SEC_AUTH, "mode", V_AUTH, OFF(auth), 0, 0, NULL },
	{ SEC_AUTH, "keys", V_PATH, OFF(keys_path), 0, 0, NULL },
	{ SEC_AUTH, "jwt-public-key", V_PATH_NONE, OFF(jwt_key_path), 0, 0, NULL },
	{ SEC_AUTH, "jwt-issuer", V_WORD, OFF(jwt_issuer), 0, 0, NULL },
	{ SEC_AUTH, "jwt-audience", V_WORD, OFF(jwt_audience), 0, 0, NULL },
	{ SEC_AUTH, "jwt-alg", V_ALG, OFF(jwt_alg), 0, 0, NULL },
	{ SEC_AUTH, "trusted-proxies", V_PROXIES, OFF(proxies), 0, 0, NULL },
	{ SEC_METRICS, "listen", V_LISTEN, OFF(metrics), 0, 0, NULL },
	{ SEC_METRICS, "auth", V_METRICS_AUTH, OFF(metrics_auth), 0, 0, NULL },
	{ SEC_PROGRAMMATIC, "round-trips", V_COUNT, OFF(ptc_round_trips), 1, POLICY_PTC_ROUNDS_CEIL, NULL },
	{ SEC_PROGRAMMATIC, "result-max", V_SIZE, OFF(ptc_result_max), 1024, POLICY_PTC_RESULT_CEIL, NULL },
	{ SEC_PROGRAMMATIC, "token-ttl", V_MS, OFF(ptc_token_ttl_ms),
	    POLICY_PTC_TTL_FLOOR_MS, POLICY_PTC_TTL_CEIL_MS, NULL },
	{ SEC_PROGRAMMATIC, "workspace-files", V_COUNT, OFF(ws_files), 1, POLICY_FILES_EXEC_CEIL, NULL },
	{ SEC_PROGRAMMATIC, "workspace-size", V_SIZE, OFF(ws_size), 1ULL << 20, POLICY_WS_SIZE_CEIL, NULL },
	{ SEC_PROGRAMMATIC, "workspace-lifetime", V_SECONDS, OFF(ws_lifetime_s),
	    POLICY_LIFETIME_FLOOR_S, POLICY_LIFETIME_CEIL_S, NULL },
	{ SEC_STORE, "backend", V_STORE, OFF(store_backend), 0, 0, NULL },
	{ SEC_STORE, "endpoint", V_ENDPOINT, OFF(s3_endpoint), 0, 0, NULL },
	{ SEC_STORE, "bucket", V_WORD, OFF(s3_bucket), 0, 0, NULL },
	{ SEC_STORE, "region", V_WORD, OFF(s3_region), 0, 0, NULL },
	{ SEC_STORE, "credentials", V_PATH_NONE, OFF(s3_credentials), 0, 0, NULL },
};
_Static_assert(sizeof(parser_keys) / sizeof(parser_keys[0]) == PARSER_NKEYS,
    "PARSER_NKEYS counts the key table");

/* The defaults: what a policy that says nothing allows. policy/README.md. */
void
parser_defaults(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->uid = 10001;
	p->memory = 256ULL << 20;
	p->swap = 0;			/* filled in: equal to memory */
	p->nano_cpus = NANO;
	p->pids = 64;
	p->open_files = 256;
	p->tmp_size = 16ULL << 20;
	p->tmp_files = 4096;
	p->workdir_size = 64ULL << 20;
	p->workdir_files = 4096;
	p->shm_size = 1ULL << 20;
	p->gpu = GPU_NONE;
	p->runtime = RUNTIME_RUNC;
	p->isolation = ISOLATION_CONTAINER;
	p->reuse = 100;
	p->worker_age_ms = 600000;
	p->time_default_ms = 10000;
	p->time_max_ms = 60000;
	p->stdout_max = 64ULL << 10;
	p->stderr_max = 64ULL << 10;
	p->code_max = 256ULL << 10;
	p->upload_max = 16ULL << 20;
	p->files_per_exec = 16;
	p->files_per_session = 64;
	p->lifetime_s = 24U * 3600U;
	p->user_quota = 1ULL << 30;
	p->store_quota = 20ULL << 30;
	p->free_space_floor = 1ULL << 30;
	p->conc_total = 2;
	p->conc_per_user = 1;
	p->pool = 0;
	p->sessions = 0;
	p->session_idle_ms = 600000;
	p->conn_max = 256;
	p->conn_per_address = 64;
	p->header_timeout_s = 10;
	p->queue = 32;
	p->queue_wait_ms = 30000;
	p->auth = AUTH_API_KEY;
	snprintf(p->keys_path, sizeof(p->keys_path), "/etc/codeward/keys");
	snprintf(p->jwt_issuer, sizeof(p->jwt_issuer), "librechat");
	snprintf(p->jwt_audience, sizeof(p->jwt_audience), "codeapi");
	snprintf(p->jwt_alg, sizeof(p->jwt_alg), "EdDSA");
	p->metrics = METRICS_API;
	p->metrics_auth = 1;
	p->ptc_round_trips = 50;
	p->ptc_result_max = 1ULL << 20;
	p->ptc_token_ttl_ms = 300000;
	p->ws_files = 48;
	p->ws_size = 256ULL << 20;
	p->ws_lifetime_s = 7U * 24U * 3600U;
	p->store_backend = STORE_LOCAL;
	snprintf(p->s3_bucket, sizeof(p->s3_bucket), "codeward");
	snprintf(p->s3_region, sizeof(p->s3_region), "us-east-1");
}
