#include "owned.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct owned_exec {
	char	id[SP_ID_LEN + 1];
	char	cid[SP_ID_LEN + 1];
	int	started;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sp_owned containers[SP_CONTAINERS_MAX];
static struct owned_exec execs[SP_EXECS_MAX];

int
sp_owned_add(const char *id, const struct sp_create *cr,
    const struct sp_conf *conf)
{
	size_t i, k;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_CONTAINERS_MAX; i++) {
		struct sp_owned *o = &containers[i];

		if (o->id[0] != '\0')
			continue;
		memset(o, 0, sizeof(*o));
		memcpy(o->id, id, SP_ID_LEN + 1);
		o->conf = conf;
		o->image = cr->image;
		o->memory = cr->memory;
		o->swap = cr->swap;
		o->nano_cpus = cr->nano_cpus;
		o->pids = cr->pids;
		o->gpu = cr->gpu;
		o->gpu_count = cr->gpu_count;
		o->ngpu_ids = cr->ngpu_ids;
		for (k = 0; k < cr->ngpu_ids; k++)
			snprintf(o->gpu_ids[k], sizeof(o->gpu_ids[k]), "%s",
			    cr->gpu_ids[k]);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

int
sp_owned_find(const char *id, struct sp_owned *out)
{
	size_t i;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_CONTAINERS_MAX; i++) {
		if (strcmp(containers[i].id, id) == 0) {
			if (out != NULL)
				*out = containers[i];
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

int
sp_owned_req(struct sp_conn *c, struct sp_owned *o)
{
	if (sp_owned_find(c->req.id, o) == 0) {
		c->conf = o->conf;
		return 0;
	}
	sp_conn_refuse(c, 404, "not a container this proxy created");
	return -1;
}

void
sp_owned_conf(struct sp_conn *c, const char *cid)
{
	struct sp_owned o;

	if (sp_owned_find(cid, &o) == 0)
		c->conf = o.conf;
}

int
sp_owned_count(void)
{
	size_t i;
	int n = 0;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_CONTAINERS_MAX; i++)
		n += containers[i].id[0] != '\0';
	pthread_mutex_unlock(&table_lock);
	return n;
}

void
sp_owned_del(const char *id)
{
	size_t i;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_CONTAINERS_MAX; i++)
		if (strcmp(containers[i].id, id) == 0)
			containers[i].id[0] = '\0';
	for (i = 0; i < SP_EXECS_MAX; i++)
		if (strcmp(execs[i].cid, id) == 0)
			execs[i].id[0] = execs[i].cid[0] = '\0';
	pthread_mutex_unlock(&table_lock);
}

void
sp_owned_create(const struct sp_owned *o, struct sp_create *cr)
{
	size_t k;

	memset(cr, 0, sizeof(*cr));
	cr->image = o->image;
	cr->memory = o->memory;
	cr->swap = o->swap;
	cr->nano_cpus = o->nano_cpus;
	cr->pids = o->pids;
	cr->gpu = o->gpu;
	cr->gpu_count = o->gpu_count;
	cr->ngpu_ids = o->ngpu_ids;
	for (k = 0; k < o->ngpu_ids; k++)
		cr->gpu_ids[k] = o->gpu_ids[k];
}

int
sp_owned_exec_add(const char *id, const char *cid)
{
	size_t i;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_EXECS_MAX; i++) {
		if (execs[i].id[0] == '\0') {
			memcpy(execs[i].id, id, SP_ID_LEN + 1);
			memcpy(execs[i].cid, cid, SP_ID_LEN + 1);
			execs[i].started = 0;
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

int
sp_owned_exec_find(const char *id, char *cid, int claim)
{
	size_t i;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_EXECS_MAX; i++) {
		if (strcmp(execs[i].id, id) != 0)
			continue;
		memcpy(cid, execs[i].cid, SP_ID_LEN + 1);
		r = 0;
		if (claim) {
			if (execs[i].started)
				r = -2;
			execs[i].started = 1;
		}
		break;
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}
