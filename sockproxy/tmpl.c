#include "tmpl.h"

#include <stdio.h>
#include <string.h>

const char sp_tmpl_exec_start[] = "{\"Detach\":false,\"Tty\":false}";

/* the upstream calls: method, the path around its argument, content type */
static const struct {
	const char	*method;
	const char	*pre;		/* after SP_API, up to the argument */
	const char	*post;		/* after the argument */
	int		arg;		/* takes one */
	const char	*label;		/* the argument is this label's value */
	const char	*ctype;
} calls[SP_CALL_COUNT] = {
	[SP_CALL_CREATE] = { "POST", "/containers/create", "", 0, NULL,
	    "application/json" },
	[SP_CALL_INSPECT] = { "GET", "/containers/", "/json", 1, NULL, NULL },
	[SP_CALL_START] = { "POST", "/containers/", "/start", 1, NULL, NULL },
	[SP_CALL_PUT_ARCHIVE] = { "PUT", "/containers/",
	    "/archive?path=%2Fmnt%2Fdata&noOverwriteDirNonDir=1", 1, NULL,
	    "application/x-tar" },
	[SP_CALL_GET_ARCHIVE] = { "GET", "/containers/",
	    "/archive?path=%2Fmnt%2Fdata", 1, NULL, NULL },
	[SP_CALL_STAT_ARCHIVE] = { "HEAD", "/containers/",
	    "/archive?path=%2Fmnt%2Fdata", 1, NULL, NULL },
	[SP_CALL_EXEC] = { "POST", "/containers/", "/exec", 1, NULL,
	    "application/json" },
	[SP_CALL_EXEC_INSPECT] = { "GET", "/exec/", "/json", 1, NULL, NULL },
	[SP_CALL_EXEC_START] = { "POST", "/exec/", "/start", 1, NULL,
	    "application/json" },
	[SP_CALL_KILL] = { "POST", "/containers/", "/kill?signal=KILL", 1, NULL,
	    NULL },
	[SP_CALL_REMOVE] = { "DELETE", "/containers/", "?force=1&v=1", 1, NULL,
	    NULL },
	[SP_CALL_WAIT] = { "POST", "/containers/", "/wait?condition=not-running",
	    1, NULL, NULL },
	[SP_CALL_LIST_OWNER] = { "GET", "/containers/json?all=1&filters=", "", 1,
	    "codeward.owner", NULL },
	[SP_CALL_LIST_INSTANCE] = { "GET", "/containers/json?all=1&filters=", "",
	    1, "codeward.instance", NULL },
	[SP_CALL_IMAGE] = { "GET", "/images/", "/json", 1, NULL, NULL },
	[SP_CALL_NETWORK] = { "GET", "/networks/", "", 1, NULL, NULL },
	/* the agent's start, hijacked: Upgrade: tcp (sp_tmpl_call) */
	[SP_CALL_EXEC_CHANNEL] = { "POST", "/exec/", "/start", 1, NULL,
	    "application/json" },
};

void
sp_tmpl_call(struct sp_buf *b, enum sp_call k, const char *arg, uint64_t clen)
{
	const char *m;

	if ((unsigned int)k >= SP_CALL_COUNT || calls[k].method == NULL ||
	    (arg != NULL) != calls[k].arg)
		fatalx("sp_tmpl_call: call %d with%s an argument", (int)k,
		    arg != NULL ? "" : "out");
	m = calls[k].method;
	sp_buf_printf(b, "%s " SP_API "%s", m, calls[k].pre);
	if (calls[k].label != NULL)
		sp_tmpl_label_filter(b, calls[k].label, arg);
	else if (arg != NULL)
		sp_buf_str(b, arg);
	sp_buf_printf(b, "%s HTTP/1.1\r\nHost: docker\r\n", calls[k].post);
	if (calls[k].ctype != NULL)
		sp_buf_printf(b, "Content-Type: %s\r\n", calls[k].ctype);
	if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0)
		sp_buf_printf(b, "Content-Length: %llu\r\n", (unsigned long long)clen);
	if (k == SP_CALL_EXEC_CHANNEL)
		sp_buf_str(b, "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
	else
		sp_buf_str(b, "Connection: close\r\n\r\n");
}

void
sp_tmpl_user(const struct sp_conf *conf, char *out, size_t len)
{
	snprintf(out, len, "%u:%u", conf->policy->uid, conf->policy->uid);
}

const char *const sp_tmpl_runsc_jail_caps[SP_RUNSC_JAIL_NCAPS] = {
	"CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_ADMIN",
	"CAP_SYS_CHROOT",
};

int
sp_tmpl_runsc_jail(const struct sp_conf *conf)
{
	return conf->policy->jail_runsc_caps;
}

int
sp_tmpl_inbox(const struct sp_conf *conf)
{
	const struct policy *p = conf->policy;

	return conf->inbox != NULL && p->isolation == ISOLATION_JAIL &&
	    p->inputs == INPUTS_INBOX && p->runtime == RUNTIME_RUNC;
}

void
sp_tmpl_worker_user(const struct sp_conf *conf, char *out, size_t len)
{
	if (sp_tmpl_runsc_jail(conf))
		snprintf(out, len, "0:0");
	else
		sp_tmpl_user(conf, out, len);
}

void
sp_tmpl_tmpfs(const struct sp_conf *conf, char *out, size_t len)
{
	snprintf(out, len, "rw,exec,nosuid,nodev,size=%llu,nr_inodes=%u",
	    (unsigned long long)conf->policy->tmp_size, conf->policy->tmp_files);
}

/* a tmpfs volume's options: owned by the sandbox user, capped in bytes and inodes */
static void
tmpfs_opts(const struct sp_conf *conf, uint64_t size, uint32_t files, char *out,
    size_t len)
{
	snprintf(out, len, "size=%llu,uid=%u,gid=%u,mode=0700,nr_inodes=%u,"
	    "nosuid,nodev", (unsigned long long)size, conf->policy->uid,
	    conf->policy->uid, files);
}

void
sp_tmpl_volume_opts(const struct sp_conf *conf, char *out, size_t len)
{
	tmpfs_opts(conf, conf->policy->workdir_size, conf->policy->workdir_files,
	    out, len);
}

int
sp_tmpl_tmp_is_volume(const struct sp_conf *conf)
{
	return conf->policy->runtime == RUNTIME_RUNSC;
}

void
sp_tmpl_tmp_volume_opts(const struct sp_conf *conf, char *out, size_t len)
{
	tmpfs_opts(conf, conf->policy->tmp_size, conf->policy->tmp_files, out, len);
}

static void
volume(struct sp_buf *b, const char *target, const char *opts)
{
	sp_buf_printf(b, "{\"Type\":\"volume\",\"Target\":\"%s\",\"VolumeOptions\":"
	    "{\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":\"tmpfs\","
	    "\"device\":\"tmpfs\",\"o\":\"%s\"}}}}", target, opts);
}

const char *
sp_tmpl_network(const struct sp_conf *conf)
{
	return conf->policy->network[0] != '\0' ? conf->policy->network : "none";
}

static void
str_array(struct sp_buf *b, const char *const *v, size_t n)
{
	size_t i;

	sp_buf_str(b, "[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			sp_buf_str(b, ",");
		sp_buf_jstr(b, v[i], strlen(v[i]));
	}
	sp_buf_str(b, "]");
}

static void
device_requests(struct sp_buf *b, const struct sp_create *c)
{
	sp_buf_str(b, ",\"DeviceRequests\":[{\"Driver\":\"nvidia\",");
	if (c->ngpu_ids > 0) {
		sp_buf_str(b, "\"Count\":0,\"DeviceIDs\":");
		str_array(b, c->gpu_ids, c->ngpu_ids);
	} else {
		sp_buf_printf(b, "\"Count\":%lld,\"DeviceIDs\":null",
		    (long long)c->gpu_count);
	}
	sp_buf_str(b, ",\"Capabilities\":[[\"gpu\"]],\"Options\":{}}]");
}

void
sp_tmpl_create(struct sp_buf *b, const struct sp_conf *conf,
    const struct sp_create *c)
{
	const struct policy *p = conf->policy;
	char s[256];

	sp_buf_str(b, "{\"Image\":");
	sp_buf_jstr(b, p->images[c->image].ref, strlen(p->images[c->image].ref));
	sp_buf_str(b, ",\"Cmd\":");
	str_array(b, c->argv, c->argc);
	if (c->envc > 0) {
		sp_buf_str(b, ",\"Env\":");
		str_array(b, c->env, c->envc);
	}
	sp_tmpl_worker_user(conf, s, sizeof(s));
	sp_buf_printf(b, ",\"User\":\"%s\",\"WorkingDir\":\"" SP_WORKDIR "\"", s);
	sp_buf_str(b, ",\"AttachStdin\":false,\"AttachStdout\":false,"
	    "\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"
	    "\"StdinOnce\":false");
	sp_buf_printf(b, ",\"Labels\":{\"codeward.instance\":\"%s\","
	    "\"codeward.owner\":\"%s\"}", conf->instance, conf->owner);
	sp_buf_str(b, ",\"HostConfig\":{\"NetworkMode\":");
	sp_buf_jstr(b, sp_tmpl_network(conf), strlen(sp_tmpl_network(conf)));
	sp_buf_str(b, ",\"CapDrop\":[\"ALL\"]");
	if (sp_tmpl_runsc_jail(conf)) {
		sp_buf_str(b, ",\"CapAdd\":");
		str_array(b, sp_tmpl_runsc_jail_caps, SP_RUNSC_JAIL_NCAPS);
	}
	sp_buf_str(b, ",\"SecurityOpt\":[\"no-new-privileges\"");
	if (conf->seccomp_opt != NULL) {
		sp_buf_str(b, ",");
		sp_buf_jstr(b, conf->seccomp_opt, strlen(conf->seccomp_opt));
	}
	sp_buf_str(b, "],\"ReadonlyRootfs\":true,\"IpcMode\":\"private\""
	    ",\"CgroupnsMode\":\"private\",\"Init\":true,\"Privileged\":false"
	    ",\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0}"
	    ",\"LogConfig\":{\"Type\":\"none\",\"Config\":{}}");
	sp_buf_printf(b, ",\"Memory\":%llu,\"MemorySwap\":%llu,\"NanoCpus\":%llu"
	    ",\"PidsLimit\":%llu", (unsigned long long)c->memory,
	    (unsigned long long)c->swap, (unsigned long long)c->nano_cpus,
	    (unsigned long long)c->pids);
	sp_buf_printf(b, ",\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":%u,"
	    "\"Hard\":%u},{\"Name\":\"core\",\"Soft\":0,\"Hard\":0}]",
	    p->open_files, p->open_files);
	sp_buf_printf(b, ",\"ShmSize\":%llu", (unsigned long long)p->shm_size);
	if (!sp_tmpl_tmp_is_volume(conf)) {
		sp_tmpl_tmpfs(conf, s, sizeof(s));
		sp_buf_printf(b, ",\"Tmpfs\":{\"/tmp\":\"%s\"}", s);
	}
	sp_tmpl_volume_opts(conf, s, sizeof(s));
	sp_buf_str(b, ",\"Mounts\":[");
	volume(b, SP_WORKDIR, s);
	if (sp_tmpl_tmp_is_volume(conf)) {
		sp_tmpl_tmp_volume_opts(conf, s, sizeof(s));
		sp_buf_str(b, ",");
		volume(b, "/tmp", s);
	}
	if (sp_tmpl_inbox(conf)) {
		sp_buf_str(b, ",{\"Type\":\"bind\",\"Source\":");
		sp_buf_jstr(b, conf->inbox, strlen(conf->inbox));
		sp_buf_str(b, ",\"Target\":\"" SP_INBOX "\",\"ReadOnly\":true}");
	}
	sp_buf_str(b, "]");
	if (p->runtime == RUNTIME_RUNSC)
		sp_buf_str(b, ",\"Runtime\":\"runsc\"");
	if (c->gpu)
		device_requests(b, c);
	sp_buf_str(b, "}}");
}

void
sp_tmpl_exec(struct sp_buf *b, const struct sp_conf *conf,
    const struct sp_exec *e)
{
	char user[64];

	if (e->channel)
		sp_tmpl_worker_user(conf, user, sizeof(user));
	else
		sp_tmpl_user(conf, user, sizeof(user));
	sp_buf_printf(b, "{\"AttachStdin\":%s,\"AttachStdout\":true,"
	    "\"AttachStderr\":true,\"Tty\":false,\"Privileged\":false,"
	    "\"User\":\"%s\",\"WorkingDir\":\"" SP_WORKDIR "\",\"Env\":",
	    e->channel ? "true" : "false", user);
	str_array(b, e->env, e->envc);
	sp_buf_str(b, ",\"Cmd\":");
	str_array(b, e->argv, e->argc);
	sp_buf_str(b, "}");
}

void
sp_tmpl_label_filter(struct sp_buf *b, const char *key, const char *value)
{
	/* {"label":["key=value"]}, percent-encoded; key and value are [a-z0-9._-] */
	sp_buf_printf(b, "%%7B%%22label%%22%%3A%%5B%%22%s%%3D%s%%22%%5D%%7D",
	    key, value);
}
