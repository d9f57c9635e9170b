/*
 * frontd/outputs.c and a worker's archive of changed files only: the
 * agent's .codeward/kept names the inputs a run left as they were, so an
 * input absent from the archive is deleted only when it is not listed
 * there; a listed name that is no input is ignored; a session's "now"
 * keeps each kept input with its input's digest.
 */
#include <stdio.h>
#include <string.h>

#include "outputs.h"
#include "policy.h"
#include "ustar.h"

#include "../lib/check.h"

static unsigned char tarbuf[16 * USTAR_BLOCK];
static size_t tarlen;

static void
add(const char *path, unsigned char type, const char *data)
{
	struct ustar_hdr h;
	size_t n = data != NULL ? strlen(data) : 0;

	memset(&h, 0, sizeof(h));
	snprintf(h.path, sizeof(h.path), "%s", path);
	h.pathlen = strlen(h.path);
	h.type = type;
	h.mode = type == USTAR_DIR ? 0755 : 0600;
	h.uid = h.gid = 10001;
	h.size = n;
	CHECK(ustar_write(tarbuf + tarlen, &h) == 0);
	tarlen += USTAR_BLOCK;
	if (n > 0) {
		memcpy(tarbuf + tarlen, data, n);
		tarlen += ustar_padded(n);
	}
}

int
main(void)
{
	static struct policy pol;
	struct input_state in[3];
	struct sess_file now[4];
	struct out_file out[4];
	struct collect c;
	char err[256];

	memset(&pol, 0, sizeof(pol));
	pol.workdir_files = 64;
	pol.upload_max = 1 << 20;
	pol.files_per_session = 4;
	memset(in, 0, sizeof(in));
	snprintf(in[0].name, sizeof(in[0].name), "kept.txt");
	snprintf(in[0].sha256, sizeof(in[0].sha256), "%064d", 1);
	snprintf(in[1].name, sizeof(in[1].name), "gone.txt");
	snprintf(in[2].name, sizeof(in[2].name), "dir/also.txt");
	snprintf(in[2].sha256, sizeof(in[2].sha256), "%064d", 2);
	add("data/", USTAR_DIR, NULL);
	add("data/.codeward/", USTAR_DIR, NULL);
	add("data/.codeward/kept", USTAR_FILE, "kept.txt\nnot-an-input\n\ndir/also.txt\n");
	tarlen += 2 * USTAR_BLOCK;

	memset(&c, 0, sizeof(c));
	c.pol = &pol;
	c.in = in;
	c.nin = 3;
	c.now = now;
	c.out = out;
	snprintf(c.sid, sizeof(c.sid), "s");
	CHECK(outputs_walk(&c, tarbuf, tarlen, err, sizeof(err)) == 0);
	CHECK(!outputs_deleted(&c, 0));
	CHECK(outputs_deleted(&c, 1));
	CHECK(!outputs_deleted(&c, 2));
	CHECK(c.stored == 0);
	CHECK(c.nnow == 2 && strcmp(now[0].name, "kept.txt") == 0 &&
	    strcmp(now[0].sha256, in[0].sha256) == 0 &&
	    strcmp(now[1].name, "dir/also.txt") == 0);
	return check_done("outputs-kept");
}
