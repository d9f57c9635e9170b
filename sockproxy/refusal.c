#include "refusal.h"

#include "audit.h"
#include "ipc.h"

static uint64_t refusals[IPC_REFUSALS];
static const struct sp_conf *audit_conf;	/* the one in force */

void
sp_refusal_init(const struct sp_conf *conf)
{
	__atomic_store_n(&audit_conf, conf, __ATOMIC_RELEASE);
}

unsigned int
sp_refusal_class(int status)
{
	switch (status) {
	case 403: return IPC_REFUSE_POLICY;
	case 404: return IPC_REFUSE_NOT_OWNED;
	case 408: return IPC_REFUSE_TIMEOUT;
	case 409: return IPC_REFUSE_STATE;
	case 413: return IPC_REFUSE_TOO_LARGE;
	case 502: return IPC_REFUSE_DAEMON;
	case 503: return IPC_REFUSE_BUSY;
	default: return IPC_REFUSE_REQUEST;
	}
}

void
sp_refusal_count(const struct sp_conf *conf, unsigned int klass, int status,
    const char *line, const char *why)
{
	struct audit a;

	__atomic_add_fetch(&refusals[klass], 1, __ATOMIC_RELAXED);
	if (conf == NULL)
		conf = __atomic_load_n(&audit_conf, __ATOMIC_ACQUIRE);
	audit_begin(&a, "refusal", conf != NULL ? conf->policy->id : "");
	audit_str(&a, "instance", conf != NULL ? conf->instance : "");
	audit_i64(&a, "status", status);
	audit_str(&a, "class", ipc_refusal_name(klass));
	audit_str(&a, "request", line);
	audit_str(&a, "reason", why);
	if (audit_end(&a) != 0)
		log_warn("audit: write");
}

uint64_t
sp_refusal_get(unsigned int klass)
{
	return __atomic_load_n(&refusals[klass], __ATOMIC_RELAXED);
}
