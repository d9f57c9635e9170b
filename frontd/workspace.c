/* Attached workspaces (workspace.h). */
#include "workspace.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "store.h"

#define WS_KIND		"workspace"

void
ws_session(const char *user, const char *wsid, const char *instance,
    char sid[CW_ID_LEN + 1])
{
	static const unsigned char key[] = "codeward attached workspace v1";
	unsigned char h[16];
	char b64[sodium_base64_ENCODED_LEN(sizeof(h),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	crypto_generichash_state st;

	/* three NUL-terminated fields: no two triples hash the same bytes */
	crypto_generichash_init(&st, key, sizeof(key) - 1, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
	crypto_generichash_update(&st, (const unsigned char *)wsid, strlen(wsid) + 1);
	crypto_generichash_update(&st, (const unsigned char *)instance,
	    strlen(instance) + 1);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	/* 21 of its 22 characters: a store id, [A-Za-z0-9_-]{21} (126 bits) */
	memcpy(sid, b64, CW_ID_LEN);
	sid[CW_ID_LEN] = '\0';
}

int
ws_name(const char *name)
{
	return strncmp(name, WS_PREFIX, sizeof(WS_PREFIX) - 1) == 0;
}

int
ws_stage(struct exec_run *x, const char *sid)
{
	struct store_meta *list = NULL;
	char name[IPC_NAME_MAX];
	const char *why;
	size_t n = 0, i, k;

	if (store_list(sid, &list, &n) != 0)
		return errno == ENOENT ? 0 : errno == EREMOTEIO ? -3 : -1;
	/* newest first: an older object of a name (a crash between the
	 * store of its successor and its delete) goes */
	for (i = n; i > 0; i--) {
		const struct store_meta *m = &list[i - 1];
		int dup = 0;

		if (!store_visible(m, x->user) || strcmp(m->kind, WS_KIND) != 0)
			continue;
		for (k = i; k < n && !dup; k++)
			dup = strcmp(list[k].name, m->name) == 0;
		if (dup) {
			(void)store_delete(sid, m->fid);
			continue;
		}
		if ((size_t)snprintf(name, sizeof(name), "%s%s", WS_PREFIX,
		    m->name) >= sizeof(name) || frame_name_check((const unsigned
		    char *)name, strlen(name), &why) != 0) {
			log_warnx("workspace %s: '%s' not staged: %s", sid,
			    m->name, why);
			continue;
		}
		if ((k = (size_t)-exec_input_meta(x, m, name)) == 2 || k == 3) {
			free(list);
			return -(int)k;	/* over per-execution; the store failed */
		}
	}
	free(list);
	return 0;
}

void
ws_begin(struct collect *c)
{
	size_t i;

	c->ws_files = 0;
	c->ws_bytes = 0;
	for (i = 0; i < c->nin; i++)
		if (ws_name(c->in[i].name)) {
			c->ws_files++;
			c->ws_bytes += c->in[i].size;
		}
}

/* the staged input of that name, or NULL */
static struct input_state *
staged(struct collect *c, const char *name)
{
	size_t i;

	for (i = c->nin; i > 0; i--)
		if (strcmp(c->in[i - 1].name, name) == 0)
			return &c->in[i - 1];
	return NULL;
}

int
ws_keep(struct collect *c, const struct tar_entry *e)
{
	struct input_state *in = staged(c, e->name);
	const struct policy *p = c->pol;
	struct store_meta m;
	uint64_t bytes = c->ws_bytes - (in != NULL ? in->size : 0);
	size_t files = c->ws_files + (in != NULL ? 0 : 1);
	/* never more than a call can stage again (per-execution) */
	uint32_t most = p->ws_files < p->files_per_exec ? p->ws_files :
	    p->files_per_exec;

	if (in != NULL)
		in->seen = 1;	/* changed, not deleted: its old object goes below */
	if (e->oversize || files > most || bytes + e->size > p->ws_size) {
		c->ws_dropped++;
		return 0;	/* the old version, if any, stays */
	}
	if (store_put(c->ws, e->name + sizeof(WS_PREFIX) - 1, c->use_fd ?
	    c->arcfd : -1, (uint64_t)(e->data - c->base), e->data, e->size,
	    WS_KIND, c->owner, &m) != 0) {
		log_warn("workspace %s: '%s'", c->ws, e->name);
		c->ws_dropped++;
		return 0;
	}
	if (in != NULL && in->fid[0] != '\0')
		(void)store_delete(c->ws, in->fid);
	c->ws_files = files;
	c->ws_bytes = bytes + e->size;
	return 0;
}

void
ws_settle(struct collect *c)
{
	size_t i;

	/* a staged file the walk saw neither changed nor kept: deleted */
	for (i = 0; i < c->nin; i++)
		if (ws_name(c->in[i].name) && !c->in[i].seen &&
		    c->in[i].fid[0] != '\0')
			(void)store_delete(c->ws, c->in[i].fid);
}
