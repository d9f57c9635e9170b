#include "owned.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define EXEC_SLOTS	(SP_EXECS_LIVE + SP_EXECS_ENDED)

enum exec_state { EXEC_FREE, EXEC_RESERVED, EXEC_CREATED, EXEC_STARTED,
	EXEC_ENDED };

struct owned_exec {
	char		id[SP_ID_LEN + 1];
	enum exec_state	state;
	int		channel;	/* the agent's: starts only hijacked */
	uint64_t	ended;		/* the order of ending, oldest forgotten */
};

/* a container's slot: free, reserved for a create under way, or taken */
struct owned_slot {
	struct sp_owned	c;		/* c.id empty unless taken */
	int		reserved;
	struct owned_exec x[EXEC_SLOTS];
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct owned_slot slots[SP_CONTAINERS_MAX];
static uint64_t ends;

/* the slot of container id, or NULL; under the lock */
static struct owned_slot *
slot_of(const char *id)
{
	size_t i;

	if (id[0] == '\0')
		return NULL;
	for (i = 0; i < SP_CONTAINERS_MAX; i++)
		if (strcmp(slots[i].c.id, id) == 0)
			return &slots[i];
	return NULL;
}

int
sp_owned_reserve(size_t max)
{
	size_t i, n = 0;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SP_CONTAINERS_MAX; i++)
		n += slots[i].c.id[0] != '\0' || slots[i].reserved;
	for (i = 0; n < max && i < SP_CONTAINERS_MAX; i++) {
		if (slots[i].c.id[0] == '\0' && !slots[i].reserved) {
			memset(&slots[i], 0, sizeof(slots[i]));
			slots[i].reserved = 1;
			r = (int)i;
			break;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

void
sp_owned_release(int slot)
{
	pthread_mutex_lock(&table_lock);
	slots[slot].reserved = 0;
	pthread_mutex_unlock(&table_lock);
}

void
sp_owned_add(int slot, const char *id, const struct sp_create *cr,
    const struct sp_conf *conf)
{
	struct sp_owned *o = &slots[slot].c;
	size_t k;

	pthread_mutex_lock(&table_lock);
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
	slots[slot].reserved = 0;
	pthread_mutex_unlock(&table_lock);
}

int
sp_owned_find(const char *id, struct sp_owned *out)
{
	struct owned_slot *s;

	pthread_mutex_lock(&table_lock);
	if ((s = slot_of(id)) != NULL && out != NULL)
		*out = s->c;
	pthread_mutex_unlock(&table_lock);
	return s != NULL ? 0 : -1;
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
		n += slots[i].c.id[0] != '\0';
	pthread_mutex_unlock(&table_lock);
	return n;
}

void
sp_owned_del(const char *id)
{
	struct owned_slot *s;

	pthread_mutex_lock(&table_lock);
	if ((s = slot_of(id)) != NULL)
		memset(s, 0, sizeof(*s));
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
sp_owned_exec_reserve(const char *cid)
{
	struct owned_slot *s;
	size_t k, live = 0;
	int r = -1, fr = -1;

	pthread_mutex_lock(&table_lock);
	if ((s = slot_of(cid)) != NULL) {
		for (k = 0; k < EXEC_SLOTS; k++) {
			if (s->x[k].state == EXEC_FREE)
				fr = fr < 0 ? (int)k : fr;
			else
				live += s->x[k].state != EXEC_ENDED;
		}
		/* live + ended never passes EXEC_SLOTS: a free one is left */
		r = -2;
		if (live < SP_EXECS_LIVE && fr >= 0) {
			memset(&s->x[fr], 0, sizeof(s->x[fr]));
			s->x[fr].state = EXEC_RESERVED;
			r = (int)(s - slots) * EXEC_SLOTS + fr;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

/* the reserved exec of slot on container cid, or NULL; under the lock */
static struct owned_exec *
exec_reserved(int slot, const char *cid)
{
	struct owned_slot *s = &slots[slot / EXEC_SLOTS];
	struct owned_exec *x = &s->x[slot % EXEC_SLOTS];

	if (strcmp(s->c.id, cid) != 0 || x->state != EXEC_RESERVED)
		return NULL;	/* the container went (and maybe another came) */
	return x;
}

void
sp_owned_exec_release(int slot, const char *cid)
{
	struct owned_exec *x;

	pthread_mutex_lock(&table_lock);
	if ((x = exec_reserved(slot, cid)) != NULL)
		x->state = EXEC_FREE;
	pthread_mutex_unlock(&table_lock);
}

int
sp_owned_exec_add(int slot, const char *cid, const char *id, int channel)
{
	struct owned_exec *x;

	pthread_mutex_lock(&table_lock);
	if ((x = exec_reserved(slot, cid)) != NULL) {
		memcpy(x->id, id, SP_ID_LEN + 1);
		x->state = EXEC_CREATED;
		x->channel = channel;
	}
	pthread_mutex_unlock(&table_lock);
	return x != NULL ? 0 : -1;
}

/* the exec id, or NULL; its container's slot into sp; under the lock */
static struct owned_exec *
exec_of(const char *id, struct owned_slot **sp)
{
	size_t i, k;

	for (i = 0; i < SP_CONTAINERS_MAX; i++) {
		if (slots[i].c.id[0] == '\0')
			continue;
		for (k = 0; k < EXEC_SLOTS; k++) {
			if (slots[i].x[k].state >= EXEC_CREATED &&
			    strcmp(slots[i].x[k].id, id) == 0) {
				*sp = &slots[i];
				return &slots[i].x[k];
			}
		}
	}
	return NULL;
}

int
sp_owned_exec_channel(const char *id)
{
	struct owned_slot *s;
	struct owned_exec *x;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	if ((x = exec_of(id, &s)) != NULL)
		r = x->channel;
	pthread_mutex_unlock(&table_lock);
	return r;
}

int
sp_owned_exec_find(const char *id, char *cid, int claim)
{
	struct owned_slot *s;
	struct owned_exec *x;
	int r = -1;

	pthread_mutex_lock(&table_lock);
	if ((x = exec_of(id, &s)) != NULL) {
		memcpy(cid, s->c.id, SP_ID_LEN + 1);
		r = 0;
		if (claim) {
			if (x->state != EXEC_CREATED)
				r = -2;
			else
				x->state = EXEC_STARTED;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

void
sp_owned_exec_end(const char *id)
{
	struct owned_slot *s;
	struct owned_exec *x, *oldest = NULL;
	size_t k, n = 0;

	pthread_mutex_lock(&table_lock);
	if ((x = exec_of(id, &s)) != NULL && x->state != EXEC_ENDED) {
		for (k = 0; k < EXEC_SLOTS; k++) {
			if (s->x[k].state != EXEC_ENDED)
				continue;
			n++;
			if (oldest == NULL || s->x[k].ended < oldest->ended)
				oldest = &s->x[k];
		}
		if (n >= SP_EXECS_ENDED)
			memset(oldest, 0, sizeof(*oldest));	/* EXEC_FREE */
		x->state = EXEC_ENDED;
		x->ended = ++ends;
	}
	pthread_mutex_unlock(&table_lock);
}
