/* Fuzz the IPC decoder with any bytes and any claimed descriptor count. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	(void)ipc_check(u.buf, size, nfds, &why);
	return 0;
}
