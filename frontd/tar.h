/*
 * The tar reader for the work directory privd relays from the sandbox: these
 * bytes are written by code we do not trust, so every field is checked and
 * every entry bounded. Regular files and directories are reported; links,
 * devices, FIFOs and anything else are skipped. PAX 'path' and 'size' records
 * are honoured (Go's archive/tar writes them for long names); GNU long names
 * are not produced by the daemon and are refused. The header format is
 * common/ustar's; what is accepted, cleaned and skipped is decided here.
 */
#ifndef CW_TAR_H
#define CW_TAR_H

#include <stddef.h>
#include <stdint.h>

#define TAR_NAME_MAX	255

enum tar_type { TAR_FILE, TAR_DIR };

struct tar_entry {
	char			name[TAR_NAME_MAX + 1];	/* cleaned, relative */
	enum tar_type		type;
	uint64_t		size;
	const unsigned char	*data;
};

struct tar_limits {
	size_t		entries_max;	/* every header counts */
	uint64_t	file_max;	/* one file */
};

/* called per entry; return -1 to stop the walk with an error */
typedef int (*tar_cb)(const struct tar_entry *e, void *ctx);

/*
 * Walk the archive. 'strip' is a leading component to remove ("data" for the
 * daemon's tar of /mnt/data); entries outside it are refused. Returns 0, or
 * -1 with a reason in err.
 */
int	tar_walk(const unsigned char *buf, size_t len, const char *strip,
	    const struct tar_limits *lim, tar_cb cb, void *ctx, char *err,
	    size_t errlen);

/*
 * Clean a relative path: drop empty and "." components and a leading '/',
 * refuse "..", control characters and invalid UTF-8. 0 or -1.
 */
int	tar_clean_name(const char *in, size_t inlen, char *out, size_t outlen);

#endif
