#include "outputs.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "workspace.h"
#include "ustar.h"

/* the entry's sha256 in hex, its bytes read from the archive's descriptor */
static int
sha_hex(const struct collect *c, const struct tar_entry *e, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES], buf[65536];
	crypto_hash_sha256_state st;
	uint64_t off = (uint64_t)(e->data - c->base), done = 0;
	ssize_t n;

	if (!c->use_fd) {
		crypto_hash_sha256(h, e->data, e->size);
		sodium_bin2hex(out, 65, h, sizeof(h));
		return 0;
	}
	crypto_hash_sha256_init(&st);
	while (done < e->size) {
		size_t k = e->size - done < sizeof(buf) ? (size_t)(e->size - done) : sizeof(buf);

		if ((n = pread(c->arcfd, buf, k, (off_t)(off + done))) <= 0) {
			errno = n == 0 ? EIO : errno;
			return -1;
		}
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
		done += (uint64_t)n;
	}
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out, 65, h, sizeof(h));
	return 0;
}

/* the input of that name (the last listed wins), or NULL */
static struct input_state *
input_named(const struct collect *c, const char *name)
{
	size_t i;

	for (i = c->nin; i > 0; i--)
		if (strcmp(c->in[i - 1].name, name) == 0)
			return &c->in[i - 1];
	return NULL;
}

/*
 * .codeward/kept, written by a worker's agent (jail/agent_stage.c): the
 * inputs the run left as they were, one path a line, not in the archive.
 * Each one named is present (not deleted) and, for a session, still there
 * with its input's digest. A name that is no input is ignored.
 */
static void
collect_kept(struct collect *c, const unsigned char *p, uint64_t n)
{
	struct input_state *in;
	char name[IPC_NAME_MAX];
	uint64_t i, s = 0;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i - s > 0 && i - s < sizeof(name)) {
			memcpy(name, p + s, i - s);
			name[i - s] = '\0';
			if (memchr(name, '\0', i - s) == NULL &&
			    (in = input_named(c, name)) != NULL && !in->seen) {
				in->seen = 1;
				if (c->now != NULL && c->nnow < c->pol->files_per_session) {
					snprintf(c->now[c->nnow].name,
					    sizeof(c->now[c->nnow].name), "%s", name);
					memcpy(c->now[c->nnow].sha256, in->sha256, 65);
					c->nnow++;
				}
			}
		}
		s = i + 1;
	}
}

static int
collect_file(const struct tar_entry *e, void *ctx)
{
	struct collect *c = ctx;
	const struct policy *pol = c->pol;
	struct input_state *in;
	struct store_meta m;
	char sha[65];
	size_t i;

	if (e->type != TAR_FILE)
		return 0;
	if (strcmp(e->name, ".codeward/kept") == 0 && !e->oversize) {
		collect_kept(c, e->data, e->size);
		return 0;
	}
	if (strcmp(e->name, ".codeward") == 0 || strncmp(e->name, ".codeward/", 10) == 0)
		return 0;
	if (c->ws != NULL && ws_name(e->name))
		return ws_keep(c, e);
	/* every input present is not deleted, even one too large to return */
	if ((in = input_named(c, e->name)) != NULL)
		in->seen = 1;
	if (e->oversize)
		return 0;
	if (sha_hex(c, e, sha) != 0) {
		log_warn("exec: the archive's '%s'", e->name);
		c->failed = 1;
		return -1;
	}
	/* what the session's sandbox holds now, for its next call */
	if (c->now != NULL && c->nnow < pol->files_per_session) {
		snprintf(c->now[c->nnow].name, sizeof(c->now[c->nnow].name), "%s", e->name);
		memcpy(c->now[c->nnow].sha256, sha, sizeof(sha));
		c->nnow++;
	}
	/* unchanged inputs are not listed */
	if (in != NULL && strcmp(in->sha256, sha) == 0)
		return 0;
	/* a reused session's file, unchanged since its last call: not listed */
	for (i = 0; i < c->nknown; i++)
		if (strcmp(c->known[i].name, e->name) == 0 &&
		    strcmp(c->known[i].sha256, sha) == 0)
			return 0;
	/* over the cap: not stored, and the walk goes on to see every input */
	if (c->stored >= pol->files_per_session) {
		c->dropped++;
		return 0;
	}
	if (store_put(c->sid, e->name, c->use_fd ? c->arcfd : -1,
	    (uint64_t)(e->data - c->base), e->data, e->size, "output", c->owner,
	    &m) != 0) {
		if (errno == EDQUOT || errno == ENOSPC) {
			/* over a quota: the answer still comes, without this file */
			size_t k = strlen(c->unstored_names);

			if (k + strlen(e->name) + 5 < sizeof(c->unstored_names))
				snprintf(c->unstored_names + k, sizeof(c->unstored_names) - k,
				    "%s'%s'", k ? ", " : "", e->name);
			c->unstored_errno = errno;
			c->unstored++;
			return 0;
		}
		c->failed_errno = errno;
		log_warn("exec: store '%s'", e->name);
		c->failed = 1;
		return -1;
	}
	memcpy(c->out[c->stored].fid, m.fid, sizeof(m.fid));
	snprintf(c->out[c->stored].name, sizeof(c->out[c->stored].name), "%s", m.name);
	c->stored++;
	return 0;
}

int
outputs_walk(struct collect *c, const unsigned char *buf, size_t len,
    char *err, size_t errlen)
{
	/* the same cap sockproxy's checker applies (common/ustar.h) */
	struct tar_limits lim = {
		(size_t)ustar_out_headers_max(c->pol->workdir_files),
		c->pol->upload_max,
	};
	size_t k, all = 0;

	c->base = buf;
	if (c->ws != NULL)
		ws_begin(c);
	c->complete = tar_walk(buf, len, "data", &lim, collect_file, c, &c->skip,
	    err, errlen) == 0;
	if (c->ws != NULL && c->complete)
		ws_settle(c);
	metrics_walk_skipped(c->skip.skipped);
	for (k = 0; k < TAR_SKIPS; k++)
		all += c->skip.skipped[k];
	if (all > 0)
		log_info("exec: session %s: skipped %zu archive entries "
		    "(%zu name_too_long, %zu unsafe_name, %zu type, %zu too_large)",
		    c->sid, all, c->skip.skipped[TAR_SKIP_NAME],
		    c->skip.skipped[TAR_SKIP_UNSAFE], c->skip.skipped[TAR_SKIP_TYPE],
		    c->skip.skipped[TAR_SKIP_SIZE]);
	return c->complete ? 0 : -1;
}

int
outputs_deleted(const struct collect *c, size_t i)
{
	return c->complete && !c->in[i].seen &&
	    !(c->ws != NULL && ws_name(c->in[i].name)) &&
	    input_named(c, c->in[i].name) == &c->in[i];
}
