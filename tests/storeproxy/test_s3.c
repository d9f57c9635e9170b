/*
 * storeproxy's pure parts: the ListObjectsV2 reader, the key and record
 * classes, the record's headers both ways, the credentials file's grammar
 * and the protocol's checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "../lib/check.h"
#include "creds.h"
#include "proto.h"
#include "s3.h"
#include "s3int.h"

static char keys[8][S3_KEY_MAX];
static uint64_t sizes[8];
static int nkeys;

static int
emit(void *arg, const char *key, uint64_t size)
{
	(void)arg;
	if (nkeys == 8)
		return -1;
	snprintf(keys[nkeys], sizeof(keys[0]), "%s", key);
	sizes[nkeys++] = size;
	return 0;
}

static int
parse(const char *xml, struct s3_list_page *p)
{
	const char *why = NULL;
	int r;

	nkeys = 0;
	r = s3xml_list(xml, strlen(xml), p, emit, NULL, &why);
	CHECK(r == 0 || why != NULL);
	return r;
}

static void
test_xml(void)
{
	struct s3_list_page p;
	static const char *refused[] = {
		"",
		"<ListBucketResult></ListBucketResult>",	/* no IsTruncated */
		"<Other><IsTruncated>false</IsTruncated></Other>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>x",
		"<ListBucketResult><IsTruncated>false</IsTruncated>",
		"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucket>",
		"<!-- c --><ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
		"<ListBucketResult><!-- c --><IsTruncated>false</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated><![CDATA[false]]></IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><IsTruncated>false</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated>x<Name>b</Name></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a/../b</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a b</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>01</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>18446744073709551616</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Key>b</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Name>&#65;</Name></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Name>&foo;</Name></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Name>\x01</Name></ListBucketResult>",
		"<ListBucketResult a=b><IsTruncated>false</IsTruncated></ListBucketResult>",
		"<ListBucketResult\"a\"><IsTruncated>false</IsTruncated></ListBucketResult>",
		"<?xml version=\"1.0\"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>a b</NextContinuationToken></ListBucketResult>",
		"<ListBucketResult><a><b><c><d><e><f></f></e></d></c></b></a><IsTruncated>false</IsTruncated></ListBucketResult>",
	};
	size_t i;

	CHECK(parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Name>b</Name><Prefix/><IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>1Mk+/=</NextContinuationToken>\n"
	    " <Contents><Key>s-1/f_2</Key><Size>0</Size>"
	    "<ETag>&quot;x&quot;</ETag><Owner><ID>z</ID></Owner></Contents>"
	    "<Contents><Size>18446744073709551615</Size><Key>s/g</Key></Contents>"
	    "</ListBucketResult>\n", &p) == 0);
	CHECK(p.truncated == 1 && strcmp(p.token, "1Mk+/=") == 0);
	CHECK(p.nkeys == 2 && nkeys == 2);
	CHECK(strcmp(keys[0], "s-1/f_2") == 0 && sizes[0] == 0);
	CHECK(strcmp(keys[1], "s/g") == 0 && sizes[1] == UINT64_MAX);
	CHECK(parse("<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "</ListBucketResult>", &p) == 0 && p.truncated == 0 && p.nkeys == 0);
	/* an entity decoded in a token */
	CHECK(parse("<ListBucketResult><IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>a&amp;b</NextContinuationToken>"
	    "</ListBucketResult>", &p) == 0 && strcmp(p.token, "a&b") == 0);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK_CASE(parse(refused[i], &p) != 0, refused[i]);
}

static void
test_classes(void)
{
	struct s3_meta m;

	CHECK(s3_key_ok("abc") && s3_key_ok("A-b_9/Zz"));
	CHECK(!s3_key_ok("") && !s3_key_ok("/a") && !s3_key_ok("a/") &&
	    !s3_key_ok("a//b") && !s3_key_ok("a.b") && !s3_key_ok("a b") &&
	    !s3_key_ok("a/../b") && !s3_key_ok("a%2f"));
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "any name\n\"é");
	snprintf(m.kind, sizeof(m.kind), "user");
	memset(m.sha256, 'a', 64);
	CHECK(s3_meta_ok(&m));
	snprintf(m.owner, sizeof(m.owner), "bad owner");
	CHECK(!s3_meta_ok(&m));
	snprintf(m.owner, sizeof(m.owner), "u@x:1");
	m.sha256[3] = 'A';
	CHECK(!s3_meta_ok(&m));
	m.sha256[3] = 'a';
	m.created = -1;
	CHECK(!s3_meta_ok(&m));
	m.created = 0;
	m.name[0] = '\0';
	CHECK(!s3_meta_ok(&m));
}

/* the record written as headers comes back whole through the parser */
static void
test_headers(void)
{
	struct s3_meta m, back;
	struct curl_slist *l, *i;
	struct s3_hdrs h;
	const char *why = NULL;
	char line[1024];

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "dir/a b\r\nX-Evil: 1");
	snprintf(m.kind, sizeof(m.kind), "output");
	snprintf(m.owner, sizeof(m.owner), "alice");
	memset(m.sha256, 'f', 64);
	m.created = 1733500000;
	CHECK((l = s3_hdrs_signing(&m)) != NULL);
	memset(&h, 0, sizeof(h));
	s3_hdrs_line(&h, "HTTP/1.1 200 OK\r\n", 17);
	for (i = l; i != NULL; i = i->next) {
		CHECK(strchr(i->data, '\r') == NULL && strchr(i->data, '\n') == NULL);
		snprintf(line, sizeof(line), "%s\r\n", i->data);
		s3_hdrs_line(&h, line, strlen(line));
	}
	s3_hdrs_line(&h, "Content-Length: 12\r\n", 20);
	CHECK(s3_hdrs_meta(&h, &back, &why) == 0);
	m.size = 12;
	CHECK(memcmp(&m, &back, sizeof(m)) == 0);
	curl_slist_free_all(l);
	/* a second Content-Length, a record header twice, none at all */
	s3_hdrs_line(&h, "content-length: 12\r\n", 20);
	CHECK(s3_hdrs_meta(&h, &back, &why) != 0);
	memset(&h, 0, sizeof(h));
	s3_hdrs_line(&h, "Content-Length: 3\r\n", 19);
	CHECK(s3_hdrs_meta(&h, &back, &why) != 0);
	s3_hdrs_line(&h, "x-amz-meta-kind: a\r\n", 20);
	s3_hdrs_line(&h, "X-Amz-Meta-Kind: a\r\n", 20);
	CHECK(h.bad);
	memset(&h, 0, sizeof(h));
	s3_hdrs_line(&h, "Content-Length: 1x\r\n", 20);
	CHECK(h.bad);
}

static void
test_creds(void)
{
	struct s3_conf c;
	const char *why;
	static const char *refused[] = {
		"",
		"access_key_id = a\n",
		"access_key_id = a\nsecret_access_key =\n",
		"access_key_id = a\nsecret_access_key = b\naccess_key_id = c\n",
		"access_key_id = a\nsecret_access_key = b\nregion = x\n",
		"access_key_id a\nsecret_access_key = b\n",
	};
	size_t i;
	const char *ok = "# the store\n\n  access_key_id = AKIA1 \r\n"
	    "secret_access_key=s/e+c=\n";

	memset(&c, 0, sizeof(c));
	CHECK(creds_parse(ok, strlen(ok), &c, &why) == 0);
	CHECK(strcmp(c.access_key_id, "AKIA1") == 0 &&
	    strcmp(c.secret_access_key, "s/e+c=") == 0);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		memset(&c, 0, sizeof(c));
		CHECK_CASE(creds_parse(refused[i], strlen(refused[i]), &c, &why) != 0,
		    refused[i]);
	}
}

static void
test_proto(void)
{
	struct sp_request q;
	const char *why;

	memset(&q, 0, sizeof(q));
	q.hdr.type = SP_GET;
	q.hdr.len = sizeof(q);
	q.hdr.id = 7;
	snprintf(q.key, sizeof(q.key), "s/f");
	CHECK(sp_request_check(&q, sizeof(q), 0, &why) == 0);
	CHECK(sp_request_check(&q, sizeof(q) - 1, 0, &why) != 0);
	CHECK(sp_request_check(&q, sizeof(q), 1, &why) != 0);
	q.key[10] = 'x';	/* a byte after the NUL */
	CHECK(sp_request_check(&q, sizeof(q), 0, &why) != 0);
	q.key[10] = '\0';
	q.meta.size = 1;	/* a record on a GET */
	CHECK(sp_request_check(&q, sizeof(q), 0, &why) != 0);
	q.meta.size = 0;
	q.hdr.type = SP_LIST;
	memset(q.key, 0, sizeof(q.key));
	CHECK(sp_request_check(&q, sizeof(q), 0, &why) == 0);
	q.hdr.type = SP_PUT;
	CHECK(sp_request_check(&q, sizeof(q), 1, &why) != 0);	/* no key, no record */
	snprintf(q.key, sizeof(q.key), "s/f");
	snprintf(q.meta.name, sizeof(q.meta.name), "x");
	snprintf(q.meta.kind, sizeof(q.meta.kind), "user");
	memset(q.meta.sha256, '0', 64);
	CHECK(sp_request_check(&q, sizeof(q), 1, &why) == 0);
	CHECK(sp_request_check(&q, sizeof(q), 0, &why) != 0);
	q.hdr.reserved = 1;
	CHECK(sp_request_check(&q, sizeof(q), 1, &why) != 0);
	q.hdr.reserved = 0;
	q.hdr.type = 66;
	CHECK(sp_request_check(&q, sizeof(q), 1, &why) != 0);
}

int
main(void)
{
	test_xml();
	test_classes();
	test_headers();
	test_creds();
	test_proto();
	return check_done("storeproxy");
}
