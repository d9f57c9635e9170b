/* The two body schemas against the policy, and the templates they feed. */
#include "req.h"
#include "sp_check.h"
#include "tmpl.h"

#define IMG	SP_TEST_IMAGE
#define LIM	"\"Memory\":536870912,\"MemorySwap\":536870912,\"NanoCpus\":1000000000,\"PidsLimit\":128"

static struct sp_json j;
static struct policy pol;

static int
create(const char *body, struct sp_create *c)
{
	char why[256];

	if (sp_json_parse(&j, body, strlen(body)) != 0)
		return -2;
	return sp_req_create(&j, &pol, c, why, sizeof(why));
}

static int
exec_(const char *body, struct sp_exec *e)
{
	char why[256];

	if (sp_json_parse(&j, body, strlen(body)) != 0)
		return -2;
	return sp_req_exec(&j, &pol, 0, e, why, sizeof(why));
}

static const char *
tmpl_create(const struct sp_conf *conf, const struct sp_create *c, struct sp_buf *b)
{
	sp_buf_init(b, 1 << 16);
	sp_tmpl_create(b, conf, c);
	return b->err ? "" : b->p;
}

int
main(void)
{
	static const char *const refused[] = {
		"{\"Cmd\":[\"x\"],\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"]}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":null}",
		"{\"Image\":\"codeward-sandbox:current\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"sha256:abab\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[],\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"\"],\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":\"x\",\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"Env\":[\"X\"],\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"Env\":[\"=x\"],\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"Env\":[\"1A=x\"],\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"User\":\"0\",\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"Labels\":{},\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"Privileged\":true,\"HostConfig\":{" LIM "}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM ",\"Privileged\":false}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM ",\"Binds\":[]}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM ",\"CapAdd\":null}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM ",\"Runtime\":\"runsc\"}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM ",\"NetworkMode\":\"none\"}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM ",\"DeviceRequests\":[{\"Count\":1}]}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":1073741824,\"MemorySwap\":1073741824,\"NanoCpus\":1000000000,\"PidsLimit\":128}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":1048576,\"MemorySwap\":1048576,\"NanoCpus\":1000000000,\"PidsLimit\":128}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":536870912,\"MemorySwap\":-1,\"NanoCpus\":1000000000,\"PidsLimit\":128}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":536870912,\"MemorySwap\":536870913,\"NanoCpus\":1000000000,\"PidsLimit\":128}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":268435456,\"MemorySwap\":536870912,\"NanoCpus\":1000000000,\"PidsLimit\":128}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":536870912,\"MemorySwap\":536870912,\"NanoCpus\":1000000001,\"PidsLimit\":128}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":536870912,\"MemorySwap\":536870912,\"NanoCpus\":0,\"PidsLimit\":128}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":536870912,\"MemorySwap\":536870912,\"NanoCpus\":1000000000,\"PidsLimit\":0}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":536870912,\"MemorySwap\":536870912,\"NanoCpus\":1000000000,\"PidsLimit\":-1}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":536870912,\"MemorySwap\":536870912,\"NanoCpus\":1000000000,\"PidsLimit\":129}}",
		"{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{\"Memory\":\"512m\",\"MemorySwap\":536870912,\"NanoCpus\":1000000000,\"PidsLimit\":128}}",
		"[]",
		NULL,
	};
	struct sp_create c;
	struct sp_exec e;
	struct sp_conf conf;
	struct sp_buf b;
	size_t i;

	sp_test_policy(&pol, NULL);
	memset(&conf, 0, sizeof(conf));
	conf.policy = &pol;
	snprintf(conf.instance, sizeof(conf.instance), "default");
	memset(conf.owner, 'f', SP_SECRET_LEN);

	/* privd's body, and a tier below the policy */
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"sleep\",\"infinity\"],"
	    "\"HostConfig\":{" LIM "}}", &c) == 0);
	CHECK(c.image == 0 && c.argc == 2 && c.memory == 536870912 &&
	    c.swap == 536870912 && c.nano_cpus == 1000000000 && c.pids == 128 && !c.gpu);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"sleep\"],\"Env\":[\"A=1\",\"_b=\"],"
	    "\"HostConfig\":{\"Memory\":16777216,\"MemorySwap\":16777216,"
	    "\"NanoCpus\":10000000,\"PidsLimit\":8}}", &c) == 0);
	CHECK(c.envc == 2 && c.pids == 8);
	for (i = 0; refused[i] != NULL; i++)
		CHECK_CASE(create(refused[i], &c) == -1, refused[i]);

	/* the create template: privd's request under the default policy */
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"sleep\",\"infinity\"],"
	    "\"HostConfig\":{" LIM "}}", &c) == 0);
	CHECK(strcmp(tmpl_create(&conf, &c, &b),
	    "{\"Image\":\"" IMG "\",\"Cmd\":[\"sleep\",\"infinity\"],"
	    "\"User\":\"10001:10001\",\"WorkingDir\":\"/mnt/data\","
	    "\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,"
	    "\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,"
	    "\"Labels\":{\"codeward.instance\":\"default\",\"codeward.owner\":"
	    "\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"},"
	    "\"HostConfig\":{\"NetworkMode\":\"none\",\"CapDrop\":[\"ALL\"],"
	    "\"SecurityOpt\":[\"no-new-privileges\"],\"ReadonlyRootfs\":true,"
	    "\"IpcMode\":\"private\",\"CgroupnsMode\":\"private\",\"Init\":true,"
	    "\"Privileged\":false,\"RestartPolicy\":{\"Name\":\"no\","
	    "\"MaximumRetryCount\":0},\"LogConfig\":{\"Type\":\"none\",\"Config\":{}},"
	    "\"Memory\":536870912,\"MemorySwap\":536870912,\"NanoCpus\":1000000000,"
	    "\"PidsLimit\":128,\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":256,"
	    "\"Hard\":256},{\"Name\":\"core\",\"Soft\":0,\"Hard\":0}],"
	    "\"ShmSize\":1048576,"
	    "\"Tmpfs\":{\"/tmp\":\"rw,exec,nosuid,nodev,size=67108864,nr_inodes=4096\"},"
	    "\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/mnt/data\","
	    "\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"local\",\"Options\":"
	    "{\"type\":\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=268435456,"
	    "uid=10001,gid=10001,mode=0700,nr_inodes=4096,nosuid,nodev\"}}}}]}}") == 0);
	sp_buf_free(&b);
	/* a value the client chose is escaped, never spliced */
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"a\\\"},\\\"Privileged\\\":true\"],"
	    "\"HostConfig\":{" LIM "}}", &c) == 0);
	CHECK(strstr(tmpl_create(&conf, &c, &b),
	    "\"Cmd\":[\"a\\\"},\\\"Privileged\\\":true\"]") != NULL);
	sp_buf_free(&b);

	/* what a policy may add: runsc, a named network, GPUs */
	sp_test_policy(&pol, "runtime runsc\nnetwork codeward-net\ngpu 2");
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"Runtime\":\"runsc\",\"NetworkMode\":\"codeward-net\","
	    "\"DeviceRequests\":[{\"Driver\":\"nvidia\",\"Count\":2,"
	    "\"Capabilities\":[[\"gpu\"]]}]}}", &c) == 0);
	CHECK(c.gpu && c.gpu_count == 2);
	tmpl_create(&conf, &c, &b);
	CHECK(strstr(b.p, "\"NetworkMode\":\"codeward-net\"") != NULL);
	CHECK(strstr(b.p, ",\"Runtime\":\"runsc\",\"DeviceRequests\":[{\"Driver\":"
	    "\"nvidia\",\"Count\":2,\"DeviceIDs\":null,\"Capabilities\":[[\"gpu\"]],"
	    "\"Options\":{}}]}}") != NULL);
	sp_buf_free(&b);
	/* runsc is forced even when the client does not ask */
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM "}}", &c) == 0);
	CHECK(strstr(tmpl_create(&conf, &c, &b), "\"Runtime\":\"runsc\"") != NULL);
	CHECK(strstr(b.p, "DeviceRequests") == NULL);
	sp_buf_free(&b);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"Runtime\":\"runc\"}}", &c) == -1);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"NetworkMode\":\"host\"}}", &c) == -1);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"Count\":3}]}}", &c) == -1);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"Count\":-1}]}}", &c) == -1);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"DeviceIDs\":[\"0\"]}]}}", &c) == -1);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"Count\":1,\"Driver\":\"other\"}]}}", &c) == -1);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"Count\":1,\"Capabilities\":[[\"gpu\",\"compute\"]]}]}}", &c) == -1);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"Count\":1,\"Options\":{}}]}}", &c) == -1);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"Count\":1},{\"Count\":1}]}}", &c) == -1);
	sp_test_policy(&pol, "gpu ids:GPU-1,GPU-2");
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"DeviceIDs\":[\"GPU-2\"]}]}}", &c) == 0);
	CHECK(c.gpu && c.ngpu_ids == 1);
	CHECK(strstr(tmpl_create(&conf, &c, &b), "\"Count\":0,\"DeviceIDs\":[\"GPU-2\"]") != NULL);
	sp_buf_free(&b);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"DeviceIDs\":[\"GPU-3\"]}]}}", &c) == -1);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":{" LIM
	    ",\"DeviceRequests\":[{\"Count\":1}]}}", &c) == -1);
	/* more swap, when the policy gives it */
	sp_test_policy(&pol, "swap 1G");
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":"
	    "{\"Memory\":536870912,\"MemorySwap\":1073741824,\"NanoCpus\":1000000000,"
	    "\"PidsLimit\":128}}", &c) == 0);
	CHECK(create("{\"Image\":\"" IMG "\",\"Cmd\":[\"x\"],\"HostConfig\":"
	    "{\"Memory\":268435456,\"MemorySwap\":1073741824,\"NanoCpus\":1000000000,"
	    "\"PidsLimit\":128}}", &c) == -1);

	/* exec: a runner of the policy first, then the request's own words */
	sp_test_policy(&pol, NULL);
	CHECK(exec_("{\"Cmd\":[\"/usr/local/bin/cw-run\",\"py\",\"a\"],"
	    "\"Env\":[\"CW_TIMEOUT_MS=100\",\"CW_LANG=py\"]}", &e) == 0);
	CHECK(e.argc == 3 && e.envc == 2);
	sp_buf_init(&b, 1 << 16);
	sp_tmpl_exec(&b, &conf, &e);
	CHECK(strcmp(b.p, "{\"AttachStdin\":false,\"AttachStdout\":true,"
	    "\"AttachStderr\":true,\"Tty\":false,\"Privileged\":false,"
	    "\"User\":\"10001:10001\",\"WorkingDir\":\"/mnt/data\","
	    "\"Env\":[\"CW_TIMEOUT_MS=100\",\"CW_LANG=py\"],"
	    "\"Cmd\":[\"/usr/local/bin/cw-run\",\"py\",\"a\"]}") == 0);
	sp_buf_free(&b);
	CHECK(exec_("{\"Cmd\":[\"/usr/local/bin/cw-run\",\"bash\"]}", &e) == 0);
	CHECK(exec_("{\"Cmd\":[\"/usr/local/bin/cw-run\",\"js\"]}", &e) == -1);
	CHECK(exec_("{\"Cmd\":[\"/usr/local/bin/cw-run\"]}", &e) == -1);
	CHECK(exec_("{\"Cmd\":[\"sh\",\"-c\",\"id\"]}", &e) == -1);
	CHECK(exec_("{\"Cmd\":[\"/usr/local/bin/cw-run\",\"py\"],\"User\":\"0\"}", &e) == -1);
	CHECK(exec_("{\"Cmd\":[\"/usr/local/bin/cw-run\",\"py\"],\"Privileged\":false}", &e) == -1);
	CHECK(exec_("{\"Cmd\":[\"/usr/local/bin/cw-run\",\"py\"],\"Tty\":false}", &e) == -1);
	CHECK(exec_("{\"Cmd\":[\"/usr/local/bin/cw-run\",\"py\"],\"Env\":[\"X\"]}", &e) == -1);
	CHECK(exec_("{\"Env\":[]}", &e) == -1);
	{
		char why[64];

		/* a container of another image runs none of these runners */
		CHECK(sp_json_parse(&j, "{\"Cmd\":[\"/usr/local/bin/cw-run\",\"py\"]}", 38) == 0);
		CHECK(sp_req_exec(&j, &pol, 1, &e, why, sizeof(why)) == -1);
	}

	/* the label filter */
	sp_buf_init(&b, 256);
	sp_tmpl_label_filter(&b, "codeward.instance", "default");
	CHECK(strcmp(b.p, "%7B%22label%22%3A%5B%22codeward.instance%3Ddefault%22%5D%7D") == 0);
	sp_buf_free(&b);

	/* request heads: the paths the golden runs do not reach */
	sp_buf_init(&b, 512);
	sp_tmpl_call(&b, SP_CALL_NETWORK, "cw-net", 0);
	CHECK(strcmp(b.p, "GET /v1.41/networks/cw-net HTTP/1.1\r\nHost: docker\r\n"
	    "Connection: close\r\n\r\n") == 0);
	sp_buf_free(&b);
	sp_buf_init(&b, 512);
	sp_tmpl_call(&b, SP_CALL_LIST_INSTANCE, "default", 0);
	CHECK(strcmp(b.p, "GET /v1.41/containers/json?all=1&filters=%7B%22label%22"
	    "%3A%5B%22codeward.instance%3Ddefault%22%5D%7D HTTP/1.1\r\n"
	    "Host: docker\r\nConnection: close\r\n\r\n") == 0);
	sp_buf_free(&b);
	return check_done("unit_req");
}
