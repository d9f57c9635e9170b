/* Fuzz the IPC decoder with any bytes and any claimed descriptor count. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* no component empty, "." or "..": nothing leaves the work directory
 * ("..x" is a file name like any other) */
static int
relative_path(const char *name)
{
	char copy[IPC_NAME_MAX], *c, *rest;

	if (name[0] == '\0' || name[0] == '/' || strstr(name, "//") != NULL ||
	    name[strlen(name) - 1] == '/')
		return 0;
	strcpy(copy, name);
	for (rest = copy; (c = strsep(&rest, "/")) != NULL; )
		if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union {
		struct ipc_exec_begin	align;
		char			buf[IPC_MSG_MAX + 1];
	} u;
	const char *why;
	size_t nfds;

	if (size < 1)
		return 0;
	nfds = data[0] % 4;
	size--;
	if (size > sizeof(u.buf))
		size = sizeof(u.buf);
	memcpy(u.buf, data + 1, size);
	if (ipc_check(u.buf, size, nfds, &why) == 0) {
		/* what an accepted message always is */
		const struct ipc_shape *s;
		struct ipc_hdr h;

		memcpy(&h, u.buf, sizeof(h));
		if ((s = ipc_shape(h.type)) == NULL || s->size != size ||
		    h.len != size || h.id == 0 || h.reserved != 0 ||
		    nfds < s->nfds_min || nfds > s->nfds_max)
			abort();
		if (h.type == IPC_EXEC_BEGIN) {
			const struct ipc_exec_begin *b = &u.align;
			size_t off = 0, n = 0;

			if (!ipc_lang_ok(b->lang, sizeof(b->lang)) ||
			    !ipc_user_ok(b->user, sizeof(b->user)))
				abort();
			while (ipc_args_next(b, &off) != NULL)
				n++;
			if (n != b->argc || off != b->args_len)
				abort();
		}
		if (h.type == IPC_EXEC_DONE) {
			const struct ipc_exec_done *d = (const void *)u.buf;
			int kept = d->session == IPC_SESS_NEW_KEPT ||
			    d->session == IPC_SESS_REUSED_KEPT;

			if (!ipc_policy_id_ok(d->policy, sizeof(d->policy)) ||
			    d->session > IPC_SESS_MAX || (d->flags & ~IPC_DF_ALL) ||
			    (kept && (d->status != IPC_ST_OK ||
			    !((d->fds & IPC_DONE_ARCHIVE) ||
			    (d->flags & IPC_DF_UNCHANGED)))))
				abort();
		}
		if (h.type == IPC_PTC_LINE || h.type == IPC_PTC_REPLY) {
			const struct ipc_ptc_line *m = (const void *)u.buf;

			if (m->len == 0 || m->len > IPC_PTC_LINE_MAX)
				abort();
		}
		if (h.type == IPC_EXEC_BEGIN && (u.align.opts & IPC_OPT_PTC) &&
		    (u.align.opts & IPC_OPT_STATEFUL))
			abort();
		if (h.type == IPC_CONN_HOLD) {
			const struct ipc_conn_hold *m = (const void *)u.buf;

			if ((m->mode != IPC_CONN_CHUNKED && m->mode != IPC_CONN_CLOSE) ||
			    m->reserved != 0 || nfds != 1)
				abort();
		}
		if (h.type == IPC_CONN_STATE) {
			const struct ipc_conn_state *m = (const void *)u.buf;

			if ((m->state != IPC_CONN_SPACES &&
			    m->state != IPC_CONN_RESPONDING) || m->reserved != 0)
				abort();
		}
		if (h.type == IPC_POLICY) {
			const struct ipc_policy *m = (const void *)u.buf;

			if (!ipc_policy_id_ok(m->id, sizeof(m->id)) ||
			    m->len > IPC_POLICY_MAX || nfds != 1)
				abort();
		}
		if (h.type == IPC_EXEC_FILE) {
			const struct ipc_exec_file *f = (const void *)u.buf;

			if (memchr(f->name, '\0', sizeof(f->name)) == NULL ||
			    !relative_path(f->name))
				abort();
		}
	}
	return 0;
}
