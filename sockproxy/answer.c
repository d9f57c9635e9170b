#include "answer.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static cJSON *
item(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

int
sp_answer_id(const char *json, size_t len, char *id)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	cJSON *v = item(j, "Id");
	int r = -1;

	if (cJSON_IsString(v) && sp_id_ok(v->valuestring, strlen(v->valuestring))) {
		memcpy(id, v->valuestring, SP_ID_LEN + 1);
		r = 0;
	}
	cJSON_Delete(j);
	return r;
}

int
sp_answer_image(const char *json, size_t len, const char *ref)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	cJSON *v = item(j, "Id");
	int r = cJSON_IsString(v) && strcmp(v->valuestring, ref) == 0 ? 0 : -1;

	cJSON_Delete(j);
	return r;
}

void
sp_answer_message(const char *json, size_t len, char *out, size_t olen)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	cJSON *v = item(j, "message");

	if (cJSON_IsString(v))
		log_str(out, olen, v->valuestring, strlen(v->valuestring));
	else
		log_str(out, olen, json, len);
	cJSON_Delete(j);
}

/* the comparison state: the first difference wins */
struct cmp {
	char	*why;
	size_t	wlen;
	int	bad;
};

static void
differ(struct cmp *c, const char *fmt, ...) CW_PRINTF(2, 3);

static void
differ(struct cmp *c, const char *fmt, ...)
{
	va_list ap;

	if (c->bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(c->why, c->wlen, fmt, ap);
	va_end(ap);
}

static void
want_bool(struct cmp *c, const cJSON *o, const char *key, int want)
{
	cJSON *v = item(o, key);

	if (!cJSON_IsBool(v) || (cJSON_IsTrue(v) ? 1 : 0) != want)
		differ(c, "%s is not %s", key, want ? "true" : "false");
}

static void
want_str(struct cmp *c, const cJSON *o, const char *key, const char *want)
{
	cJSON *v = item(o, key);

	if (!cJSON_IsString(v) || strcmp(v->valuestring, want) != 0)
		differ(c, "%s is not \"%s\"", key, want);
}

static void
want_num(struct cmp *c, const cJSON *o, const char *key, double want)
{
	cJSON *v = item(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble != want)
		differ(c, "%s is not %.0f", key, want);
}

/* null, absent, or an empty array, object or string; or false or 0 */
static void
want_empty(struct cmp *c, const cJSON *o, const char *key)
{
	cJSON *v = item(o, key);

	if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return;
	if ((cJSON_IsArray(v) || cJSON_IsObject(v)) && v->child == NULL)
		return;
	if (cJSON_IsString(v) && v->valuestring[0] == '\0')
		return;
	if (cJSON_IsNumber(v) && v->valuedouble == 0)
		return;
	differ(c, "%s is set", key);
}

static void
want_strs(struct cmp *c, const cJSON *o, const char *key,
    const char *const *want, size_t n)
{
	cJSON *v = item(o, key), *e;
	size_t i = 0;

	if (n == 0 && (v == NULL || cJSON_IsNull(v)))
		return;
	if (!cJSON_IsArray(v) || (size_t)cJSON_GetArraySize(v) != n) {
		differ(c, "%s differs", key);
		return;
	}
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e) || strcmp(e->valuestring, want[i++]) != 0) {
			differ(c, "%s differs", key);
			return;
		}
	}
}

/* an object with exactly these string members */
static void
want_map(struct cmp *c, const cJSON *o, const char *key,
    const char *const *keys, const char *const *vals, size_t n)
{
	cJSON *v = item(o, key);
	size_t i;

	if (!cJSON_IsObject(v) || (size_t)cJSON_GetArraySize(v) != n) {
		differ(c, "%s differs", key);
		return;
	}
	for (i = 0; i < n; i++)
		want_str(c, v, keys[i], vals[i]);
}

static void
check_ulimits(struct cmp *c, const struct sp_conf *conf, const cJSON *hc)
{
	cJSON *u = item(hc, "Ulimits"), *a, *b;

	if (!cJSON_IsArray(u) || cJSON_GetArraySize(u) != 2) {
		differ(c, "Ulimits differ");
		return;
	}
	a = cJSON_GetArrayItem(u, 0);
	b = cJSON_GetArrayItem(u, 1);
	want_str(c, a, "Name", "nofile");
	want_num(c, a, "Soft", conf->policy->open_files);
	want_num(c, a, "Hard", conf->policy->open_files);
	want_str(c, b, "Name", "core");
	want_num(c, b, "Soft", 0);
	want_num(c, b, "Hard", 0);
}

/* one requested tmpfs-backed volume: the HostConfig.Mounts entry */
static void
check_volume(struct cmp *c, const cJSON *e, const char *target, const char *opts)
{
	static const char *const okeys[] = { "device", "o", "type" };
	const char *ovals[3] = { "tmpfs", opts, "tmpfs" };
	cJSON *vo, *dc;

	want_str(c, e, "Type", "volume");
	want_str(c, e, "Target", target);
	want_empty(c, e, "Source");
	want_empty(c, e, "ReadOnly");
	want_empty(c, e, "BindOptions");
	want_empty(c, e, "TmpfsOptions");
	vo = item(e, "VolumeOptions");
	want_empty(c, vo, "NoCopy");
	want_empty(c, vo, "Labels");
	dc = item(vo, "DriverConfig");
	if (dc == NULL) {
		differ(c, "volume driver config missing");
		return;
	}
	want_str(c, dc, "Name", "local");
	want_map(c, dc, "Options", okeys, ovals, 3);
}

/*
 * the inbox's bind as sent: read-only, nothing else set (no BindOptions: no
 * propagation asked, none made below)
 */
static void
check_inbox_bind(struct cmp *c, const struct sp_conf *conf, const cJSON *e)
{
	want_str(c, e, "Type", "bind");
	want_str(c, e, "Source", conf->inbox);
	want_str(c, e, "Target", SP_INBOX);
	want_bool(c, e, "ReadOnly", 1);
	want_empty(c, e, "BindOptions");
	want_empty(c, e, "VolumeOptions");
	want_empty(c, e, "TmpfsOptions");
	want_empty(c, e, "Consistency");
}

/*
 * The volumes asked for (the work directory; /tmp too under runsc), in the
 * order sent, and what the daemon mounted: exactly those, read-write; then
 * the inbox's bind under inputs inbox (sp_tmpl_inbox), read-only.
 */
static void
check_mounts(struct cmp *c, const struct sp_conf *conf, const cJSON *root,
    const cJSON *hc)
{
	char opts[2][256];
	const char *targets[2] = { SP_WORKDIR, "/tmp" };
	cJSON *m, *e;
	int n = sp_tmpl_tmp_is_volume(conf) ? 2 : 1, inbox = sp_tmpl_inbox(conf);
	int i, found;

	sp_tmpl_volume_opts(conf, opts[0], sizeof(opts[0]));
	sp_tmpl_tmp_volume_opts(conf, opts[1], sizeof(opts[1]));
	m = item(hc, "Mounts");
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != n + inbox) {
		differ(c, "HostConfig.Mounts differ");
		return;
	}
	for (i = 0; i < n; i++)
		check_volume(c, cJSON_GetArrayItem(m, i), targets[i], opts[i]);
	if (inbox)
		check_inbox_bind(c, conf, cJSON_GetArrayItem(m, n));

	m = item(root, "Mounts");
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != n + inbox) {
		differ(c, "container Mounts differ");
		return;
	}
	found = 0;
	cJSON_ArrayForEach(e, m) {
		cJSON *d = item(e, "Destination");

		if (inbox && cJSON_IsString(d) &&
		    strcmp(d->valuestring, SP_INBOX) == 0) {
			want_str(c, e, "Type", "bind");
			want_str(c, e, "Source", conf->inbox);
			want_bool(c, e, "RW", 0);
			/* the bind's default: nothing mounted in a worker reaches the host */
			want_str(c, e, "Propagation", "rprivate");
			found++;
		}
	}
	if (found != inbox)
		differ(c, "container Mounts differ");
	for (i = 0; i < n; i++) {
		found = 0;
		cJSON_ArrayForEach(e, m) {
			cJSON *d = item(e, "Destination");

			if (cJSON_IsString(d) && strcmp(d->valuestring, targets[i]) == 0) {
				want_str(c, e, "Type", "volume");
				want_str(c, e, "Driver", "local");
				want_bool(c, e, "RW", 1);
				found++;
			}
		}
		if (found != 1)
			differ(c, "container Mounts differ");
	}
}

static void
check_devices(struct cmp *c, const struct sp_create *cr, const cJSON *hc)
{
	cJSON *d = item(hc, "DeviceRequests"), *e, *caps;

	if (!cr->gpu) {
		want_empty(c, hc, "DeviceRequests");
		return;
	}
	if (!cJSON_IsArray(d) || cJSON_GetArraySize(d) != 1) {
		differ(c, "DeviceRequests differ");
		return;
	}
	e = cJSON_GetArrayItem(d, 0);
	want_str(c, e, "Driver", "nvidia");
	if (cr->ngpu_ids > 0) {
		want_num(c, e, "Count", 0);
		want_strs(c, e, "DeviceIDs", cr->gpu_ids, cr->ngpu_ids);
	} else {
		want_num(c, e, "Count", (double)cr->gpu_count);
		want_empty(c, e, "DeviceIDs");
	}
	caps = item(e, "Capabilities");
	if (!cJSON_IsArray(caps) || cJSON_GetArraySize(caps) != 1) {
		differ(c, "DeviceRequests capabilities differ");
		return;
	}
	e = cJSON_GetArrayItem(caps, 0);
	if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 1 ||
	    !cJSON_IsString(e->child) || strcmp(e->child->valuestring, "gpu") != 0)
		differ(c, "DeviceRequests capabilities differ");
}

int
sp_verify_container(const struct sp_conf *conf, const struct sp_create *cr,
    const char *id, const char *json, size_t len, char *why, size_t wlen)
{
	static const char *const hc_empty[] = {
		"Binds", "VolumesFrom", "Links", "Devices", "DeviceCgroupRules",
		"GroupAdd", "Sysctls", "ExtraHosts", "Dns",
		"DnsOptions", "DnsSearch", "PortBindings", "PublishAllPorts",
		"PidMode", "UTSMode", "UsernsMode", "CgroupParent", "Cgroup",
		"VolumeDriver", "OomKillDisable", "OomScoreAdj", "AutoRemove",
		"ContainerIDFile", "CpusetCpus", "CpusetMems", "CpuShares",
		"CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime",
		"KernelMemory", "KernelMemoryTCP", "MemoryReservation",
		"BlkioWeight", "BlkioWeightDevice", "BlkioDeviceReadBps",
		"BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
		"BlkioDeviceWriteIOps", "Isolation", NULL,
	};
	static const char *const all[] = { "ALL" };
	const char *secopt[2] = { "no-new-privileges", NULL };
	static const char *const tmpk[] = { "/tmp" };
	const struct policy *p = conf->policy;
	struct cmp c = { why, wlen, 0 };
	cJSON *j, *cfg, *hc, *v, *labels;
	char user[64], tmpfs[256];
	const char *tmpv[1];
	size_t i;

	why[0] = '\0';
	if ((j = cJSON_ParseWithLength(json, len)) == NULL) {
		snprintf(why, wlen, "inspect answer is not JSON");
		return -1;
	}
	want_str(&c, j, "Id", id);
	want_str(&c, j, "Image", p->images[cr->image].ref);
	cfg = item(j, "Config");
	hc = item(j, "HostConfig");
	if (!cJSON_IsObject(cfg) || !cJSON_IsObject(hc)) {
		differ(&c, "inspect lacks Config or HostConfig");
		goto out;
	}

	/* Config */
	sp_tmpl_worker_user(conf, user, sizeof(user));
	want_str(&c, cfg, "Image", p->images[cr->image].ref);
	want_str(&c, cfg, "User", user);
	want_str(&c, cfg, "WorkingDir", SP_WORKDIR);
	if (cr->argc > 0)	/* 0: the pre-start check, Cmd was checked at create */
		want_strs(&c, cfg, "Cmd", cr->argv, cr->argc);
	want_bool(&c, cfg, "Tty", 0);
	want_bool(&c, cfg, "OpenStdin", 0);
	want_bool(&c, cfg, "AttachStdin", 0);
	want_empty(&c, cfg, "Volumes");
	want_empty(&c, cfg, "ExposedPorts");
	labels = item(cfg, "Labels");
	want_str(&c, labels, "codeward.instance", conf->instance);
	want_str(&c, labels, "codeward.owner", conf->owner);
	v = item(cfg, "Env");
	for (i = 0; i < cr->envc; i++) {
		cJSON *e;
		int found = 0;

		cJSON_ArrayForEach(e, v)
			if (cJSON_IsString(e) && strcmp(e->valuestring, cr->env[i]) == 0)
				found = 1;
		if (!found)
			differ(&c, "Config.Env lacks an entry sent");
	}

	/* HostConfig: the forced settings */
	want_bool(&c, hc, "Privileged", 0);
	want_strs(&c, hc, "CapDrop", all, 1);
	if (sp_tmpl_runsc_jail(conf))
		want_strs(&c, hc, "CapAdd", sp_tmpl_runsc_jail_caps,
		    SP_RUNSC_JAIL_NCAPS);
	else
		want_empty(&c, hc, "CapAdd");
	secopt[1] = conf->seccomp_opt;
	want_strs(&c, hc, "SecurityOpt", secopt, conf->seccomp_opt != NULL ? 2 : 1);
	want_bool(&c, hc, "ReadonlyRootfs", 1);
	want_str(&c, hc, "NetworkMode", sp_tmpl_network(conf));
	want_str(&c, hc, "IpcMode", "private");
	want_str(&c, hc, "CgroupnsMode", "private");
	want_bool(&c, hc, "Init", 1);
	want_str(&c, item(hc, "RestartPolicy"), "Name", "no");
	want_str(&c, item(hc, "LogConfig"), "Type", "none");
	want_str(&c, hc, "Runtime", p->runtime == RUNTIME_RUNSC ? "runsc" : "runc");
	want_num(&c, hc, "Memory", (double)cr->memory);
	want_num(&c, hc, "MemorySwap", (double)cr->swap);
	want_num(&c, hc, "NanoCpus", (double)cr->nano_cpus);
	want_num(&c, hc, "PidsLimit", (double)cr->pids);
	check_ulimits(&c, conf, hc);
	want_num(&c, hc, "ShmSize", (double)p->shm_size);
	if (sp_tmpl_tmp_is_volume(conf)) {
		want_empty(&c, hc, "Tmpfs");
	} else {
		sp_tmpl_tmpfs(conf, tmpfs, sizeof(tmpfs));
		tmpv[0] = tmpfs;
		want_map(&c, hc, "Tmpfs", tmpk, tmpv, 1);
	}
	check_mounts(&c, conf, j, hc);
	check_devices(&c, cr, hc);
	for (i = 0; hc_empty[i] != NULL; i++)
		want_empty(&c, hc, hc_empty[i]);
	v = item(hc, "MaskedPaths");
	if (!cJSON_IsArray(v) || v->child == NULL)
		differ(&c, "MaskedPaths is empty");
	v = item(hc, "ReadonlyPaths");
	if (!cJSON_IsArray(v) || v->child == NULL)
		differ(&c, "ReadonlyPaths is empty");
out:
	cJSON_Delete(j);
	return c.bad ? -1 : 0;
}

int
sp_verify_exec(const struct sp_conf *conf, const char *cid, int channel,
    const struct sp_exec *cmd, const char *json, size_t len, int *running,
    int *exit_code, char *why, size_t wlen)
{
	struct cmp c = { why, wlen, 0 };
	cJSON *j, *pc, *v;
	char user[64];

	why[0] = '\0';
	if ((j = cJSON_ParseWithLength(json, len)) == NULL) {
		snprintf(why, wlen, "exec inspect answer is not JSON");
		return -1;
	}
	if (channel)
		sp_tmpl_worker_user(conf, user, sizeof(user));
	else
		sp_tmpl_user(conf, user, sizeof(user));
	want_str(&c, j, "ContainerID", cid);
	want_bool(&c, j, "OpenStdin", channel);	/* stdin: the agent's only */
	pc = item(j, "ProcessConfig");
	want_bool(&c, pc, "privileged", 0);
	want_bool(&c, pc, "tty", 0);
	want_str(&c, pc, "user", user);
	if (cmd != NULL) {
		v = item(pc, "entrypoint");
		if (!cJSON_IsString(v) || cmd->argc == 0 ||
		    strcmp(v->valuestring, cmd->argv[0]) != 0)
			differ(&c, "exec entrypoint differs");
		want_strs(&c, pc, "arguments", cmd->argv + 1, cmd->argc - 1);
	}
	v = item(j, "Running");
	if (!cJSON_IsBool(v))
		differ(&c, "exec Running missing");
	else
		*running = cJSON_IsTrue(v) ? 1 : 0;
	v = item(j, "ExitCode");
	if (v == NULL || cJSON_IsNull(v))
		*exit_code = -1;
	else if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 255 &&
	    v->valuedouble == (double)v->valueint)
		*exit_code = v->valueint;
	else
		differ(&c, "exec ExitCode malformed");
	cJSON_Delete(j);
	return c.bad ? -1 : 0;
}

int
sp_answer_wait(const char *json, size_t len, long *code)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	cJSON *v = item(j, "StatusCode");
	int r = -1;

	if (cJSON_IsNumber(v) && v->valuedouble >= -1 && v->valuedouble <= 255 &&
	    v->valuedouble == (double)v->valueint) {
		*code = v->valueint;
		r = 0;
	}
	cJSON_Delete(j);
	return r;
}

/* a container's State as the list gives it: [a-z]{1,15}, or NULL */
static const char *
list_state(const cJSON *e)
{
	const cJSON *v = item(e, "State");
	size_t i;

	if (!cJSON_IsString(v))
		return NULL;
	for (i = 0; v->valuestring[i] != '\0'; i++)
		if (i == 15 || v->valuestring[i] < 'a' || v->valuestring[i] > 'z')
			return NULL;
	return i > 0 ? v->valuestring : NULL;
}

int
sp_answer_list(const struct sp_conf *conf, const char *json, size_t len,
    int owner_too, void (*fn)(void *ctx, const char *id, const char *state),
    void *ctx)
{
	cJSON *j = cJSON_ParseWithLength(json, len), *e;
	int n = 0;

	if (!cJSON_IsArray(j)) {
		cJSON_Delete(j);
		return -1;
	}
	cJSON_ArrayForEach(e, j) {
		cJSON *id = item(e, "Id"), *l = item(e, "Labels");
		cJSON *inst = item(l, "codeward.instance");
		cJSON *own = item(l, "codeward.owner");

		if (!cJSON_IsString(id) ||
		    !sp_id_ok(id->valuestring, strlen(id->valuestring)))
			continue;
		if (!cJSON_IsString(inst) ||
		    strcmp(inst->valuestring, conf->instance) != 0)
			continue;
		if (owner_too && (!cJSON_IsString(own) ||
		    strcmp(own->valuestring, conf->owner) != 0))
			continue;
		fn(ctx, id->valuestring, list_state(e));
		n++;
	}
	cJSON_Delete(j);
	return n;
}

int
sp_answer_stat(const char *json, size_t len, struct sp_stat *st,
    const char **why)
{
	cJSON *j = cJSON_ParseWithLength(json, len), *sz, *md, *mt;
	size_t i;
	int r = -1;

	*why = "malformed";
	if (j == NULL ||
	    !cJSON_IsNumber(sz = item(j, "size")) ||
	    !cJSON_IsNumber(md = item(j, "mode")) ||
	    !cJSON_IsString(mt = item(j, "mtime")) ||
	    sz->valuedouble < 0 || md->valuedouble < 0 ||
	    strlen(mt->valuestring) >= sizeof(st->mtime))
		goto out;
	for (i = 0; mt->valuestring[i] != '\0'; i++) {
		char ch = mt->valuestring[i];

		if (!((ch >= '0' && ch <= '9') || ch == '-' || ch == ':' ||
		    ch == '.' || ch == 'T' || ch == 'Z' || ch == '+')) {
			*why = "malformed time";
			goto out;
		}
	}
	st->size = sz->valuedouble;
	st->mode = md->valuedouble;
	memcpy(st->mtime, mt->valuestring, i + 1);
	r = 0;
out:
	cJSON_Delete(j);
	return r;
}

int
sp_answer_profile_ok(const char *json, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(json, len), *a, *s;
	int ok;

	a = cJSON_GetObjectItemCaseSensitive(j, "defaultAction");
	s = cJSON_GetObjectItemCaseSensitive(j, "syscalls");
	ok = cJSON_IsObject(j) && cJSON_IsString(a) && cJSON_IsArray(s);
	cJSON_Delete(j);
	return ok;
}
