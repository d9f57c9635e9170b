/*
 * The tar privd writes into the sandbox's work directory: a streaming ustar
 * writer over file descriptors, its headers from common/ustar_write.c. privd
 * only writes tar; it never reads one.
 */
#ifndef CW_TARW_H
#define CW_TARW_H

#include <stddef.h>
#include <stdint.h>

#define TARW_ENTRIES_MAX	640

struct tarw_entry {
	char		name[256];
	int		is_dir;
	int		fd;		/* regular files: read with pread */
	uint64_t	size;
};

struct tarw {
	struct tarw_entry	ent[TARW_ENTRIES_MAX];
	size_t			n;
	uint32_t		uid;
	uint64_t		mtime;
	/* streaming state */
	size_t			cur;
	uint64_t		off;	/* within the current entry's record */
	int			failed;
	char			hdr[512];
	int			hdr_ready;
};

void	tarw_init(struct tarw *t, uint32_t uid, uint64_t mtime);
/*
 * Add a file; its parent directories are added as needed. A later file of
 * the same name replaces the earlier one. Returns 0, or -1 when the name
 * cannot be placed (a file where a directory must be, too long for ustar, or
 * too many entries).
 */
int	tarw_add_file(struct tarw *t, const char *name, int fd, uint64_t size);
/* the exact byte length of the archive */
uint64_t tarw_size(const struct tarw *t);
/* fill up to len bytes; returns 0 at the end, and sets failed on a read error */
size_t	tarw_fill(char *buf, size_t len, void *ctx);
/* ustar header for one entry, exposed for the unit tests */
int	tarw_header(char hdr[512], const char *name, int is_dir, uint64_t size,
	    uint32_t uid, uint64_t mtime);

#endif
