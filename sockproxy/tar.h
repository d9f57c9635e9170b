/*
 * The streaming tar checker (sockproxy/README.md: rule 9, facts F15 and F16). Bytes go in as
 * they arrive; bytes come out (through 'out') only once the header they
 * belong to has been checked whole, so no unchecked header ever reaches the
 * other side. The header format is common/ustar's (shared with frontd's
 * reader and privd's writer); every check below is sockproxy's own.
 *
 * Upload (PUT, bytes privd wrote with tarw.c): ustar only ("ustar\0" "00"),
 * a valid checksum, type '0' (regular file) or '5' (directory) only, mode at
 * most 0777 with no type bits, uid and gid the policy's user, no user or
 * group name, no link name, no device numbers, zero padding, a relative name
 * of [printable UTF-8] components with no empty, "." or ".." component, a
 * directory name ending in one '/', at most SP_PUT_ENTRIES_MAX entries and
 * max_bytes of file data, then exactly two zero blocks and nothing after.
 *
 * Download (GET, the daemon's tar of /mnt/data): the same header checks, but
 * every name lies under "data/" (the first entry is "data/" itself), mode
 * carries the matching type bits, any owner is accepted, PAX 'x' blocks may
 * name a long path (records path, mtime, atime, ctime; linkpath only before
 * an entry that is left out). Symbolic links,
 * hard links and FIFOs the sandboxed program made are left out of the output
 * (with their PAX block); any other type ends the stream as an error. A
 * file or directory whose path is longer than USTAR_OUT_PATH_MAX (the limit
 * frontd's walker shares, common/ustar.h) is well-formed but more than frontd
 * keeps: it is checked like any other entry and left out, not refused. The
 * header cap is ustar_out_headers_max(), frontd's too.
 */
#ifndef CW_SP_TAR_H
#define CW_SP_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "sockproxy.h"

enum sp_tar_mode { SP_TAR_PUT, SP_TAR_GET };

typedef int (*sp_tar_out_fn)(void *ctx, const unsigned char *p, size_t n);

struct sp_tar {
	enum sp_tar_mode mode;
	uint32_t	uid;		/* PUT: the owner every entry must carry */
	uint64_t	max_bytes;	/* file data, all entries together */
	uint64_t	max_entries;

	int		state;
	unsigned char	hdr[512];
	size_t		hlen;
	uint64_t	left;		/* data bytes of the current entry */
	uint64_t	pad;		/* then padding bytes */
	int		skip;		/* the current entry is left out */
	int		in_pax;		/* collecting a PAX block */
	unsigned char	pax[512 + SP_PAX_MAX];
	size_t		paxlen;
	uint64_t	pax_size;
	char		pax_path[SP_NAME_MAX + 1];
	int		have_pax_path;
	int		have_pax_link;
	int		long_name;	/* the next entry's path is over USTAR_OUT_PATH_MAX */

	uint64_t	entries, bytes, skipped, long_names, bad_names;
	char		why[128];
};

void	sp_tar_init(struct sp_tar *t, enum sp_tar_mode mode, uint32_t uid,
	    uint64_t max_bytes, uint64_t max_entries);
/* 0, or -1 with t->why (a bad header, a cap, or out() failing) */
int	sp_tar_feed(struct sp_tar *t, const unsigned char *p, size_t n,
	    sp_tar_out_fn out, void *ctx);
/* 0 if the archive ended properly with its two zero blocks */
int	sp_tar_finish(struct sp_tar *t);

#endif
