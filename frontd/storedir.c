/*
 * The store's directory, made and opened, and what the store answers with
 * besides its objects: a content type from a name, a time in ISO 8601.
 * Nothing here touches an object (store.c does).
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
store_prepare_dir(const char *path, uid_t uid, gid_t gid)
{
	return store_make_dir(path, 0700, uid, gid);
}

int
store_make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return -1;
	if (lstat(path, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	/*
	 * Change only what is wrong, mode first (while root may still own
	 * it): a store that is already its owner's, 0700, needs no capability
	 * at all (compose/README.md: the container's capabilities).
	 */
	if ((st.st_mode & 07777) != mode && chmod(path, mode) != 0)
		return -1;
	if ((st.st_uid != uid || st.st_gid != gid) && lchown(path, uid, gid) != 0)
		return -1;
	return 0;
}

int
store_open_dir(const char *path)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0700) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static const struct {
	const char	*ext;
	const char	*type;
} ctypes[] = {
	{ "csv", "text/csv" }, { "txt", "text/plain" }, { "md", "text/markdown" },
	{ "json", "application/json" }, { "html", "text/html" },
	{ "xml", "application/xml" }, { "png", "image/png" },
	{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "gif", "image/gif" },
	{ "svg", "image/svg+xml" }, { "webp", "image/webp" },
	{ "pdf", "application/pdf" }, { "zip", "application/zip" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
	{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
	{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
	{ "py", "text/x-python" }, { "js", "text/javascript" },
	{ "ts", "text/plain" }, { "sh", "text/x-shellscript" },
	{ "parquet", "application/octet-stream" }, { "tsv", "text/tab-separated-values" },
};

const char *
store_content_type(const char *name)
{
	const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
	size_t i;

	if (dot == NULL || (slash != NULL && dot < slash))
		return "application/octet-stream";
	for (i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++)
		if (strcasecmp(dot + 1, ctypes[i].ext) == 0)
			return ctypes[i].type;
	return "application/octet-stream";
}

void
store_iso8601(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00.000Z");
}
