/*
 * Addresses and networks, as [auth] trusted-proxies names them and as
 * frontd compares a peer or an X-Forwarded-For entry with them. Pure: no
 * I/O, no allocation, no name resolution (inet_pton only).
 */
#include "policy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff };

int
policy_net_parse(const char *s, int bits_ok, struct policy_net *out)
{
	char text[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned char b[16];
	uint32_t bits, max, i;
	int v4;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(text) || (slash != NULL && !bits_ok))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	v4 = strchr(text, ':') == NULL;
	if (v4) {
		memcpy(out->addr, v4mapped, sizeof(v4mapped));
		if (inet_pton(AF_INET, text, out->addr + 12) != 1)
			return -1;
	} else if (inet_pton(AF_INET6, text, out->addr) != 1)
		return -1;
	max = v4 ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		const char *d = slash + 1;

		/* 1 to 3 digits, no sign, no leading zero */
		if (d[0] < '0' || d[0] > '9' || (d[0] == '0' && d[1] != '\0') ||
		    strlen(d) > 3 || strspn(d, "0123456789") != strlen(d))
			return -1;
		bits = 0;
		for (; *d; d++)
			bits = bits * 10 + (uint32_t)(*d - '0');
		if (bits > max)
			return -1;
	}
	out->bits = v4 ? bits + 96 : bits;
	/* no host bits below the prefix: 10.0.0.1/8 is a mistake, refused */
	memcpy(b, out->addr, sizeof(b));
	for (i = out->bits; i < 128; i++)
		if (b[i / 8] & (0x80u >> (i % 8)))
			return -1;
	return 0;
}

int
policy_net_match(const struct policy_net *n, const struct policy_net *a)
{
	uint32_t full = n->bits / 8, rest = n->bits % 8;
	unsigned char mask;

	if (n->bits > 128 || memcmp(n->addr, a->addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xffu << (8 - rest));
	return (n->addr[full] & mask) == (a->addr[full] & mask);
}

const char *
policy_net_format(char *b, size_t n, const struct policy_net *net)
{
	char text[INET6_ADDRSTRLEN] = "?";
	int v4 = memcmp(net->addr, v4mapped, sizeof(v4mapped)) == 0 &&
	    net->bits >= 96;
	uint32_t bits = v4 ? net->bits - 96 : net->bits;

	if (v4)
		inet_ntop(AF_INET, net->addr + 12, text, sizeof(text));
	else
		inet_ntop(AF_INET6, net->addr, text, sizeof(text));
	if (bits == (v4 ? 32u : 128u))
		snprintf(b, n, "%s", text);
	else
		snprintf(b, n, "%s/%u", text, bits);
	return b;
}
