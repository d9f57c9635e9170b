#include "mux.h"

#include <stdio.h>
#include <string.h>

void
sp_mux_init(struct sp_mux *m, uint64_t stdout_cap, uint64_t stderr_cap)
{
	memset(m, 0, sizeof(*m));
	m->cap[SP_MUX_STDOUT] = stdout_cap;
	m->cap[SP_MUX_STDERR] = stderr_cap;
}

enum sp_mux_result
sp_mux_feed(struct sp_mux *m, const unsigned char *p, size_t n,
    sp_mux_out_fn out, void *ctx)
{
	while (n > 0) {
		size_t k;

		if (m->left == 0 && m->hlen < 8) {
			k = 8 - m->hlen < n ? 8 - m->hlen : n;
			memcpy(m->hdr + m->hlen, p, k);
			m->hlen += k;
			p += k;
			n -= k;
			if (m->hlen < 8)
				break;
			if ((m->hdr[0] != SP_MUX_STDOUT && m->hdr[0] != SP_MUX_STDERR) ||
			    m->hdr[1] != 0 || m->hdr[2] != 0 || m->hdr[3] != 0) {
				snprintf(m->why, sizeof(m->why),
				    "bad frame header %02x %02x %02x %02x",
				    m->hdr[0], m->hdr[1], m->hdr[2], m->hdr[3]);
				return SP_MUX_BAD;
			}
			m->type = m->hdr[0];
			m->left = (uint32_t)m->hdr[4] << 24 | (uint32_t)m->hdr[5] << 16 |
			    (uint32_t)m->hdr[6] << 8 | (uint32_t)m->hdr[7];
			m->frames++;
			m->hlen = m->left == 0 ? 0 : 8;
			continue;
		}
		k = m->left < n ? m->left : n;
		if (k > m->cap[m->type] - m->total[m->type]) {
			size_t room = (size_t)(m->cap[m->type] - m->total[m->type]);

			if (room > 0 && out(ctx, m->type, p, room) != 0)
				goto out_failed;
			m->total[m->type] += room;
			snprintf(m->why, sizeof(m->why), "%s passed its cap of %llu bytes",
			    m->type == SP_MUX_STDOUT ? "stdout" : "stderr",
			    (unsigned long long)m->cap[m->type]);
			return SP_MUX_CAP;
		}
		if (out(ctx, m->type, p, k) != 0)
			goto out_failed;
		m->total[m->type] += k;
		m->left -= (uint32_t)k;
		p += k;
		n -= k;
		if (m->left == 0)
			m->hlen = 0;
	}
	return SP_MUX_OK;
out_failed:
	snprintf(m->why, sizeof(m->why), "cannot pass the stream on");
	return SP_MUX_BAD;
}

int
sp_mux_finish(struct sp_mux *m)
{
	if (m->hlen != 0 || m->left != 0) {
		snprintf(m->why, sizeof(m->why), "stream ends inside a frame");
		return -1;
	}
	return 0;
}
