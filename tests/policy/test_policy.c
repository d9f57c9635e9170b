/*
 * The policy parser: a table of good and bad policy files. A bad file must
 * fail with exactly the FILE:LINE message listed; a good file must parse, its
 * effective policy must contain the listed lines, and printing then parsing
 * the effective policy must give the same struct back.
 *
 * argv[1], when given, is the shipped default.policy: it must parse once its
 * image placeholder is filled in, and fail where the placeholder stands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"


#include "../lib/check.h"

#define IMG	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMG2	"sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define PY	"[images]\nsandbox " IMG "\n[language py]\nimage sandbox\nrunner /usr/local/bin/cw-run py\n"

struct bad {
	const char	*text;
	const char	*err;
};

static const struct bad bad[] = {
	/* where a setting may stand */
	{ "memory 512M\n", "t.policy:1: setting 'memory' outside any section" },
	{ "# top\n\n[sandbox]\n  # x\nmemory 1X # y\n",
	    "t.policy:5: '1X': unknown size unit 'X' (use K, M or G)" },
	{ "[sandbox]\nmemroy 512M\n", "t.policy:2: unknown key 'memroy' in [sandbox]" },
	{ "[sandbox]\nMemory 512M\n", "t.policy:2: unknown key 'Memory' in [sandbox]" },
	{ "[time]\nmemory 512M\n", "t.policy:2: unknown key 'memory' in [time]" },
	{ "[sandbox]\nmemory 512M\n\nmemory 1G\n",
	    "t.policy:4: 'memory' is set twice (first at line 2)" },
	{ "[sandbox]\nmemory 512M\n[time]\nmax 1m\n[sandbox]\nmemory 1G\n",
	    "t.policy:5: [sandbox] appears twice (first at line 1)" },
	{ "[nope]\n", "t.policy:1: unknown section 'nope' (images, language, sandbox, "
	    "time, output, files, concurrency, auth, metrics)" },
	{ "[sandbox\n", "t.policy:1: a section header is '[name]' alone on its line" },
	{ "[sandbox] x\n", "t.policy:1: a section header is '[name]' alone on its line" },
	{ "[]\n", "t.policy:1: empty section header" },
	{ "[sandbox x]\n", "t.policy:1: section 'sandbox' takes no argument" },
	{ "[language]\n", "t.policy:1: a language section is '[language NAME]'" },
	{ "[language a b c]\n", "t.policy:1: a section header is '[name]' or '[language NAME]'" },
	{ "[language cobol]\n", "t.policy:1: unknown language 'cobol' (py js ts c cpp "
	    "java php rs go d f90 r bash)" },

	/* bytes */
	{ "[sandbox]\r\nmemory 1G\n", "t.policy:1: carriage return: use Unix line ends" },
	{ "[sandbox]\n# m\xc3\xa9moire\n", "t.policy:2: byte 0xc3: the policy is plain ASCII text" },
	{ "[sandbox]\n\x1b[1m\n", "t.policy:2: byte 0x1b: the policy is plain ASCII text" },

	/* sizes */
	{ "[sandbox]\nmemory\n", "t.policy:2: 'memory' takes one value" },
	{ "[sandbox]\nmemory 1G 2G\n", "t.policy:2: 'memory' takes one value" },
	{ "[sandbox]\nmemory 512MB\n", "t.policy:2: '512MB': unknown size unit 'MB' (use K, M or G)" },
	{ "[sandbox]\nmemory 512m\n", "t.policy:2: '512m': unknown size unit 'm' (use K, M or G)" },
	{ "[sandbox]\nmemory 1.5G\n", "t.policy:2: '1.5G' is not a size: a whole number "
	    "with an optional K, M or G (e.g. 512M)" },
	{ "[sandbox]\nmemory -1\n", "t.policy:2: '-1' is not a size: a whole number "
	    "with an optional K, M or G (e.g. 512M)" },
	{ "[sandbox]\nmemory G\n", "t.policy:2: 'G' is not a size: a whole number "
	    "with an optional K, M or G (e.g. 512M)" },
	{ "[sandbox]\nmemory 512\n", "t.policy:2: memory 512 is below the floor of 16M" },
	{ "[sandbox]\nmemory 65G\n", "t.policy:2: memory 65G is above the ceiling of 64G" },
	{ "[sandbox]\nmemory 99999999999999999999\n",
	    "t.policy:2: '99999999999999999999' is too large" },
	{ "[sandbox]\nmemory 17179869184G\n", "t.policy:2: '17179869184G' is too large" },
	{ "[sandbox]\nmemory 1G\nswap 512M\n", "t.policy:3: swap 512M is below memory 1G: "
	    "swap is memory plus swap (equal to memory: no swap)" },
	{ "[sandbox]\nswap 128M\n", "t.policy:2: swap 128M is below memory 256M: "
	    "swap is memory plus swap (equal to memory: no swap)" },
	{ "[sandbox]\ntmp-size 0\n", "t.policy:2: tmp-size 0 is below the floor of 1M" },
	{ "[sandbox]\nworkdir-size 17G\n", "t.policy:2: workdir-size 17G is above the ceiling of 16G" },
	{ "[sandbox]\nshm-size 100K\n", "t.policy:2: shm-size 100K is below the floor of 1M" },
	{ "[output]\nstdout 65M\n", "t.policy:2: stdout 65M is above the ceiling of 64M" },
	{ "[files]\ncode-max 17M\n", "t.policy:2: code-max 17M is above the ceiling of 16M" },
	{ "[files]\nupload-max 5G\n", "t.policy:2: upload-max 5G is above the ceiling of 4G" },

	/* counts */
	{ "[sandbox]\npids 4\n", "t.policy:2: pids 4 is below the floor of 8" },
	{ "[sandbox]\npids 5000\n", "t.policy:2: pids 5000 is above the ceiling of 4096" },
	{ "[sandbox]\npids -1\n", "t.policy:2: '-1' is not a whole number" },
	{ "[sandbox]\npids 1e3\n", "t.policy:2: '1e3' is not a whole number" },
	{ "[sandbox]\npids 99999999999999999999999\n",
	    "t.policy:2: '99999999999999999999999' is too large" },
	{ "[sandbox]\nopen-files 70000\n", "t.policy:2: open-files 70000 is above the ceiling of 65536" },
	{ "[sandbox]\ntmp-files 10\n", "t.policy:2: tmp-files 10 is below the floor of 64" },
	{ "[sandbox]\nworkdir-files 2000000\n",
	    "t.policy:2: workdir-files 2000000 is above the ceiling of 1048576" },
	{ "[sandbox]\nuser 0\n", "t.policy:2: user 0 is below the floor of 1: the sandbox "
	    "never runs as root" },
	{ "[sandbox]\nuser 65535\n", "t.policy:2: user 65535 is above the ceiling of 65534" },
	{ "[sandbox]\nuser sandbox\n", "t.policy:2: 'sandbox' is not a whole number" },
	{ "[files]\nper-execution 300\n", "t.policy:2: per-execution 300 is above the ceiling of 256" },
	{ "[files]\nper-session 0\n", "t.policy:2: per-session 0 is below the floor of 1" },
	{ "[concurrency]\ntotal 0\n", "t.policy:2: total 0 is below the floor of 1" },
	{ "[concurrency]\npool 65\n", "t.policy:2: pool 65 is above the ceiling of 64" },
	{ "[concurrency]\ntotal 2\nper-user 3\n",
	    "t.policy:3: [concurrency] per-user 3 is above total 2" },
	{ "[concurrency]\nconnections 32\nconnections-per-address 33\n",
	    "t.policy:3: [concurrency] connections-per-address 33 is above connections 32" },
	{ "[concurrency]\nconnections 32\n",
	    "t.policy:2: [concurrency] connections-per-address 64 is above connections 32" },
	{ "[concurrency]\nheader-timeout 1500ms\n", "t.policy:2: '1500ms': whole seconds only" },
	/* the admission queue and the trusted proxies */
	{ "[concurrency]\nqueue 65\n", "t.policy:2: queue 65 is above the ceiling of 64" },
	{ "[concurrency]\nqueue-wait 50ms\n", "t.policy:2: queue-wait 50ms is below the floor of 100ms" },
	{ "[concurrency]\nqueue-wait 6m\n", "t.policy:2: queue-wait 6m is above the ceiling of 5m" },
	{ "[auth]\ntrusted-proxies 10.0.0.1/8\n", "t.policy:2: trusted-proxies '10.0.0.1/8': "
	    "an address or ADDR/BITS with no host bits set" },
	{ "[auth]\ntrusted-proxies 10.0.0.0/33\n", "t.policy:2: trusted-proxies '10.0.0.0/33': "
	    "an address or ADDR/BITS with no host bits set" },
	{ "[auth]\ntrusted-proxies proxy.local\n", "t.policy:2: trusted-proxies 'proxy.local': "
	    "an address or ADDR/BITS with no host bits set" },
	{ "[auth]\ntrusted-proxies 10.0.0.0/08\n", "t.policy:2: trusted-proxies '10.0.0.0/08': "
	    "an address or ADDR/BITS with no host bits set" },
	{ "[auth]\ntrusted-proxies 127.0.0.1 none\n", "t.policy:2: trusted-proxies 'none': "
	    "an address or ADDR/BITS with no host bits set" },
	{ "[auth]\ntrusted-proxies\n", "t.policy:2: 'trusted-proxies' takes none, or addresses "
	    "and networks" },

	/* CPUs */
	{ "[sandbox]\ncpus 0.001\n", "t.policy:2: '0.001': at most two decimals" },
	{ "[sandbox]\ncpus 0\n", "t.policy:2: cpus 0 is below the floor of 0.01" },
	{ "[sandbox]\ncpus 65\n", "t.policy:2: cpus 65 is above the ceiling of 64" },
	{ "[sandbox]\ncpus 1.\n", "t.policy:2: '1.' is not a number of CPUs (e.g. 1.5)" },
	{ "[sandbox]\ncpus .5\n", "t.policy:2: '.5' is not a number of CPUs (e.g. 1.5)" },
	{ "[sandbox]\ncpus 1,5\n", "t.policy:2: '1,5' is not a number of CPUs (e.g. 1.5)" },
	{ "[sandbox]\ncpus 99999999\n", "t.policy:2: '99999999' is too large" },

	/* times */
	{ "[time]\ndefault 30\n", "t.policy:2: '30': a duration needs a unit (ms, s, m or h)" },
	{ "[time]\ndefault 30sec\n", "t.policy:2: '30sec': unknown time unit 'sec' (use ms, s, m or h)" },
	{ "[time]\ndefault 1.5s\n", "t.policy:2: '1.5s' is not a duration: a whole number "
	    "with ms, s, m or h (e.g. 30s)" },
	{ "[time]\ndefault 50ms\n", "t.policy:2: default 50ms is below the floor of 100ms" },
	{ "[time]\nmax 2h\n", "t.policy:2: max 2h is above the ceiling of 1h" },
	{ "[time]\ndefault 90s\nmax 60s\n", "t.policy:2: [time] default 90s is above max 1m" },
	{ "[time]\nmax 5s\n", "t.policy:2: [time] default 10s is above max 5s" },
	{ "[files]\nlifetime 12h\n", "t.policy:2: lifetime 12h is below the floor of 24h: "
	    "LibreChat uploads a file again only when it is older than 23 hours" },
	{ "[files]\nlifetime 86400500ms\n", "t.policy:2: '86400500ms': whole seconds only" },
	{ "[files]\nlifetime 9000h\n", "t.policy:2: lifetime 9000h is above the ceiling of 8760h" },
	{ "[files]\nuser-quota 2000000G\n",
	    "t.policy:2: user-quota 2000000G is above the ceiling of 1048576G" },
	{ "[files]\nstore-quota none\n", "t.policy:2: 'none' is not a size: a whole number "
	    "with an optional K, M or G (e.g. 512M)" },
	{ "[files]\nfree-space-floor -1\n", "t.policy:2: '-1' is not a size: a whole number "
	    "with an optional K, M or G (e.g. 512M)" },

	/* network, GPU, runtime */
	{ "[sandbox]\nnetwork host\n", "t.policy:2: network 'host' is not allowed: 'none', or "
	    "the name of a network made for the sandboxes (never host, bridge, default or "
	    "container:)" },
	{ "[sandbox]\nnetwork bridge\n", "t.policy:2: network 'bridge' is not allowed: 'none', "
	    "or the name of a network made for the sandboxes (never host, bridge, default or "
	    "container:)" },
	{ "[sandbox]\nnetwork container:abc\n", "t.policy:2: network 'container:abc' is not "
	    "allowed: 'none', or the name of a network made for the sandboxes (never host, "
	    "bridge, default or container:)" },
	{ "[sandbox]\nnetwork -net\n", "t.policy:2: network '-net': a name starts with a letter "
	    "or digit and has only [A-Za-z0-9._-]" },
	{ "[sandbox]\nnetwork a/b\n", "t.policy:2: network 'a/b': a name starts with a letter "
	    "or digit and has only [A-Za-z0-9._-]" },
	{ "[sandbox]\ngpu 0\n", "t.policy:2: gpu 0: a count is from 1 to 16" },
	{ "[sandbox]\ngpu 17\n", "t.policy:2: gpu 17: a count is from 1 to 16" },
	{ "[sandbox]\ngpu some\n", "t.policy:2: gpu 'some': none, all, a count (e.g. 1), or ids:ID,ID" },
	{ "[sandbox]\ngpu ids:\n", "t.policy:2: gpu ids: none given" },
	{ "[sandbox]\ngpu ids:0,,1\n", "t.policy:2: gpu ids: an empty id" },
	{ "[sandbox]\ngpu ids:0,\n", "t.policy:2: gpu ids: an empty id" },
	{ "[sandbox]\ngpu ids:0,0\n", "t.policy:2: gpu id '0' is listed twice" },
	{ "[sandbox]\ngpu ids:a/b\n", "t.policy:2: gpu id 'a/b': [A-Za-z0-9._:-], at most 31 characters" },
	{ "[sandbox]\ngpu ids:0,1,2,3,4,5,6,7,8\n", "t.policy:2: at most 8 gpu ids" },
	{ "[sandbox]\nruntime runsc\n", "t.policy:2: pids 64 is too low for runtime runsc: "
	    "gVisor's own threads count against it (60 to 90 per sandbox); at least 256" },
	{ "[sandbox]\npids 255\nruntime runsc\n", "t.policy:2: pids 255 is too low for runtime "
	    "runsc: gVisor's own threads count against it (60 to 90 per sandbox); at least 256" },
	{ "[sandbox]\nruntime kata\n", "t.policy:2: runtime 'kata': runc, or runsc (gVisor)" },
	{ "[sandbox]\nruntime RUNSC\n", "t.policy:2: runtime 'RUNSC': runc, or runsc (gVisor)" },
	{ "[sandbox]\nisolation nsjail\n", "t.policy:2: isolation 'nsjail': container, or jail" },
	{ "[sandbox]\npids 256\nisolation jail\nruntime runsc\n", "t.policy:3: isolation jail "
	    "with runtime runsc needs jail-runsc-caps SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP: "
	    "gVisor (2022) has no mount namespace, the jail is built as root in its kernel "
	    "(SECURITY.md)" },
	{ "[sandbox]\npids 1023\nruntime runsc\nisolation jail\njail-seccomp sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	    "jail-runsc-caps SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP\n", "t.policy:2: pids "
	    "1023 is too low for isolation jail with runtime runsc: a worker's gVisor keeps "
	    "the host threads its jobs made it start (ptrace stubs), so its count grows with "
	    "each job it serves; at least 1024" },
	{ "[sandbox]\nruntime runsc\nisolation jail\njail-seccomp sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	    "jail-runsc-caps SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP\npids 256\n",
	    "t.policy:6: pids 256 is too low for isolation jail with runtime runsc: a worker's "
	    "gVisor keeps the host threads its jobs made it start (ptrace stubs), so its count "
	    "grows with each job it serves; at least 1024" },
	{ "[sandbox]\njail-runsc-caps SYS_ADMIN,SETUID\n", "t.policy:2: jail-runsc-caps "
	    "'SYS_ADMIN,SETUID': none, or SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP" },
	{ "[sandbox]\njail-runsc-caps SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP\n", "t.policy:2: "
	    "jail-runsc-caps is for isolation jail with runtime runsc only; none" },
	{ "[sandbox]\npids 256\nruntime runsc\njail-runsc-caps SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,"
	    "SETPCAP\n", "t.policy:4: jail-runsc-caps is for isolation jail with runtime runsc "
	    "only; none" },
	{ "[sandbox]\nisolation jail\n", "t.policy:2: isolation jail needs jail-seccomp: the "
	    "sha256 of the workers' seccomp profile (jail/seccomp-jail.py)" },
	{ "[sandbox]\njail-seccomp sha256:0123\n", "t.policy:2: 'sha256:0123' is not a digest "
	    "(sha256:<64 hex>) or none" },
	{ "[sandbox]\nreuse 0\n", "t.policy:2: reuse 0 is below the floor of 1" },
	{ "[sandbox]\nreuse 10001\n", "t.policy:2: reuse 10001 is above the ceiling of 10000" },
	{ "[sandbox]\nworker-age 9s\n", "t.policy:2: worker-age 9s is below the floor of 10s" },
	{ "[sandbox]\nworker-age 25h\n", "t.policy:2: worker-age 25h is above the ceiling of 24h" },

	/* images and languages */
	{ "[images]\nsandbox codeward-sandbox:current\n", "t.policy:2: image 'sandbox': "
	    "'codeward-sandbox:current' is not an image id (sha256:<64 hex>); tags are mutable "
	    "and not accepted" },
	{ "[images]\nsandbox @SANDBOX_IMAGE@\n", "t.policy:2: image 'sandbox': "
	    "'@SANDBOX_IMAGE@' is not an image id (sha256:<64 hex>); tags are mutable "
	    "and not accepted" },
	{ "[images]\nsandbox sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n",
	    "t.policy:2: image 'sandbox': 'sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef"
	    "0123456789abcdef' is not an image id (sha256:<64 hex>); tags are mutable and not "
	    "accepted" },
	{ "[images]\nSandbox " IMG "\n", "t.policy:2: image name 'Sandbox': [a-z0-9_-], at most "
	    "31 characters" },
	{ "[images]\nsandbox\n", "t.policy:2: image 'sandbox' takes one image id" },
	{ "[images]\nsandbox " IMG "\nsandbox " IMG2 "\n", "t.policy:3: image 'sandbox' is listed twice" },
	{ PY "[language py]\n", "t.policy:6: [language py] appears twice (first at line 3)" },
	{ "[images]\nsandbox " IMG "\n[language py]\nimage sandbox\n",
	    "t.policy:3: [language py] names no runner" },
	{ "[language py]\nrunner /usr/local/bin/cw-run py\n", "t.policy:1: [language py] names no image" },
	{ "[images]\nsandbox " IMG "\n[language py]\nimage other\nrunner /bin/x\n",
	    "t.policy:4: [language py]: image 'other' is not in [images]" },
	{ PY "image sandbox\n", "t.policy:6: 'image' is set twice (first at line 4)" },
	{ PY "runner /bin/true\n", "t.policy:6: 'runner' is set twice (first at line 5)" },
	{ "[language py]\nimage\n", "t.policy:2: 'image' takes the name of an image from [images]" },
	{ "[language py]\nrunner\n", "t.policy:2: 'runner' takes the program and its arguments" },
	{ "[language py]\nrunner cw-run py\n", "t.policy:2: 'runner': the program must be an absolute path" },
	{ "[language py]\nrunner /a 1 2 3 4 5 6 7 8\n", "t.policy:2: 'runner': at most 8 words" },
	{ "[language py]\nrunner /a 1 2 3 4 5 6 7 8 9\n", "t.policy:2: too many values" },
	{ "[language py]\nrunner /bin/sh -c $X\n", "t.policy:2: runner word '$X' has characters "
	    "outside [A-Za-z0-9._:/-]" },
	{ "[language py]\ncmd /bin/sh\n", "t.policy:2: unknown key 'cmd' in [language py] (image, runner)" },

	/* pre-warmed interpreters */
	{ "[concurrency]\nprewarm js\n", "t.policy:2: prewarm 'js': none, or py" },
	{ "[concurrency]\nprewarm py py\n", "t.policy:2: prewarm names py twice" },
	{ "[concurrency]\nprewarm\n", "t.policy:2: 'prewarm' takes none, or py" },

	/* auth */
	{ "[auth]\nmode jwt\n", "t.policy:2: [auth] mode jwt needs jwt-public-key" },
	{ "[auth]\nmode api-key+jwt\njwt-public-key none\n",
	    "t.policy:2: [auth] mode api-key+jwt needs jwt-public-key" },
	{ "[auth]\nmode oauth\n", "t.policy:2: auth mode 'oauth': api-key, jwt, api-key+jwt or none" },
	{ "[auth]\nkeys etc/keys\n", "t.policy:2: 'etc/keys' is not a plain absolute path "
	    "([A-Za-z0-9._:/-], no . or .. components)" },
	{ "[auth]\nkeys /etc/../keys\n", "t.policy:2: '/etc/../keys' is not a plain absolute path "
	    "([A-Za-z0-9._:/-], no . or .. components)" },
	{ "[auth]\nkeys /etc/..\n", "t.policy:2: '/etc/..' is not a plain absolute path "
	    "([A-Za-z0-9._:/-], no . or .. components)" },
	{ "[auth]\nkeys /etc/.\n", "t.policy:2: '/etc/.' is not a plain absolute path "
	    "([A-Za-z0-9._:/-], no . or .. components)" },
	{ "[auth]\nkeys //etc/keys\n", "t.policy:2: '//etc/keys' is not a plain absolute path "
	    "([A-Za-z0-9._:/-], no . or .. components)" },
	{ "[auth]\nkeys none\n", "t.policy:2: 'none' is not a plain absolute path "
	    "([A-Za-z0-9._:/-], no . or .. components)" },
	{ "[auth]\njwt-alg RS256\n", "t.policy:2: jwt-alg 'RS256': only EdDSA is supported" },
	{ "[auth]\njwt-issuer a=b\n", "t.policy:2: 'a=b' has characters outside [A-Za-z0-9._:-]" },
	{ "[auth]\njwt-issuer aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    "t.policy:2: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is too long (at most 31 characters)" },
};

struct good {
	const char	*text;
	const char	*want[4];	/* lines of the effective policy */
};

static const struct good good[] = {
	{ "", { "memory          256M\nswap            256M\n", "network         none\n",
	    "gpu             none\n", "runtime         runc\n" } },
	{ "# only a comment", { "pids            64\n" } },
	{ "[sandbox]\nmemory 1G\n", { "memory          1G\nswap            1G\n" } },
	{ "[sandbox]\nmemory 1G\nswap 2G\n", { "memory          1G\nswap            2G\n" } },
	{ "[sandbox]\nswap 1G\nmemory 1G\n", { "swap            1G\n" } },
	{ "[sandbox]\n\tmemory\t\t1536M   # tabs and a comment", { "memory          1536M\n" } },
	{ "[sandbox]\ncpus 1.5\n", { "cpus            1.5\n" } },
	{ "[sandbox]\ncpus 0.25\n", { "cpus            0.25\n" } },
	{ "[sandbox]\ncpus 0.01\n", { "cpus            0.01\n" } },
	{ "[sandbox]\ncpus 2.50\n", { "cpus            2.5\n" } },
	{ "[sandbox]\ncpus 64\n", { "cpus            64\n" } },
	{ "[sandbox]\nmemory 16M\npids 8\nopen-files 64\ntmp-files 64\n",
	    { "memory          16M\n", "pids            8\n", "open-files      64\n",
	      "tmp-files       64\n" } },
	{ "[sandbox]\nmemory 64G\nswap 128G\npids 4096\n", { "memory          64G\n",
	    "swap            128G\n", "pids            4096\n" } },
	{ "[sandbox]\nmemory 16777217\n", { "memory          16777217\n" } },
	{ "[sandbox]\nnetwork codeward-sandboxes\n", { "network         codeward-sandboxes\n" } },
	{ "[sandbox]\nnetwork none\n", { "network         none\n" } },
	{ "[sandbox]\ngpu all\n", { "gpu             all\n" } },
	{ "[sandbox]\ngpu 2\n", { "gpu             2\n" } },
	{ "[sandbox]\ngpu ids:0,GPU-6a1d2c\n", { "gpu             ids:0,GPU-6a1d2c\n" } },
	{ "[sandbox]\nruntime runsc\npids 256\n", { "runtime         runsc\n" } },
	{ "", { "isolation       container\nreuse           100\nworker-age      10m\n" } },
	{ "[sandbox]\nisolation jail\nreuse 1\nworker-age 10s\njail-seccomp sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
	    { "isolation       jail\nreuse           1\nworker-age      10s\n",
	      "jail-seccomp    sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n" } },
	{ "", { "jail-seccomp    none\njail-runsc-caps none\n" } },
	{ "[sandbox]\npids 1024\nruntime runsc\nisolation jail\njail-seccomp sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	    "jail-runsc-caps SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP\n",
	    { "runtime         runsc\nisolation       jail\n",
	      "jail-runsc-caps SYS_ADMIN,SYS_CHROOT,SETUID,SETGID,SETPCAP\n" } },
	{ "[sandbox]\nreuse 10000\nworker-age 24h\n", { "reuse           10000\n",
	    "worker-age      24h\n" } },
	{ "[time]\ndefault 100ms\nmax 1h\n", { "default         100ms\nmax             1h\n" } },
	{ "[time]\ndefault 90s\nmax 90s\n", { "default         90s\nmax             90s\n" } },
	{ "[files]\nlifetime 1440m\nper-execution 0\n", { "lifetime        24h\n",
	    "per-execution   0\n" } },
	{ "[files]\nlifetime 90000s\n", { "lifetime        25h\n" } },
	{ "[concurrency]\ntotal 8\nper-user 8\npool 2\n", { "total           8\n"
	    "per-user        8\npool            2\nprewarm         none\n" } },
	{ "[concurrency]\nprewarm py\n", { "prewarm         py\n" } },
	{ "[concurrency]\nprewarm none\n", { "prewarm         none\n" } },
	{ "[auth]\nmode jwt\njwt-public-key /etc/codeward/jwt.pub\n",
	    { "mode            jwt\n", "jwt-public-key  /etc/codeward/jwt.pub\n" } },
	{ "[auth]\nmode none\n", { "mode            none\n", "jwt-public-key  none\n" } },
	{ PY, { "[language py]\nimage           sandbox\nrunner          /usr/local/bin/cw-run py\n" } },
	{ "[images]\na " IMG "\nb " IMG2 "\n[language bash]\nimage b\nrunner /bin/bash -e\n"
	    "[language c]\nimage a\nrunner /cc\n", { "a               " IMG "\n",
	    "[language c]\nimage           a\n", "[language bash]\nimage           b\n"
	    "runner          /bin/bash -e\n" } },
	{ "[sandbox]\nmemory 512M", { "memory          512M\n" } },	/* no final newline */
};

/* format, parse the output, compare structs, format again */
static void
round_trip(const struct policy *p, const char *what)
{
	static char out[32768], out2[32768];
	struct policy q;
	char err[512];

	if (policy_format(p, out, sizeof(out)) != 0) {
		fprintf(stderr, "%s: format failed\n", what);
		failures++;
		return;
	}
	if (policy_parse(out, strlen(out), "effective", &q, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: effective policy does not parse: %s\n%s", what, err, out);
		failures++;
		return;
	}
	CHECK(memcmp(p, &q, sizeof(q)) == 0);
	CHECK(policy_format(&q, out2, sizeof(out2)) == 0 && strcmp(out, out2) == 0);
}

static void
test_bad(void)
{
	struct policy p;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = policy_parse(bad[i].text, strlen(bad[i].text), "t.policy",
		    &p, err, sizeof(err));

		checks++;
		if (r == 0 || strcmp(err, bad[i].err) != 0) {
			fprintf(stderr, "bad[%zu]: want \"%s\"\n         got  \"%s\" (%d)\n",
			    i, bad[i].err, r == 0 ? "(parsed)" : err, r);
			failures++;
		}
	}
}

static void
test_good(void)
{
	static char out[32768];
	struct policy p;
	char err[512], what[32];
	size_t i, k;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(what, sizeof(what), "good[%zu]", i);
		checks++;
		if (policy_parse(good[i].text, strlen(good[i].text), "t.policy", &p,
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", what, err);
			failures++;
			continue;
		}
		CHECK(err[0] == '\0');
		CHECK(policy_format(&p, out, sizeof(out)) == 0);
		for (k = 0; k < 4 && good[i].want[k] != NULL; k++) {
			checks++;
			if (strstr(out, good[i].want[k]) == NULL) {
				fprintf(stderr, "%s: effective policy lacks \"%s\":\n%s",
				    what, good[i].want[k], out);
				failures++;
			}
		}
		round_trip(&p, what);
	}
}

/* values the rest of codeward reads, in their units */
static void
test_values(void)
{
	static const char text[] =
	    PY
	    "[sandbox]\nmemory 512M\ncpus 1.5\ntmp-size 64M\n"
	    "gpu ids:0,1\nruntime runsc\npids 256\nnetwork cw-net\n"
	    "[time]\ndefault 30s\nmax 2m\n"
	    "[files]\nlifetime 48h\nuser-quota 64K\nstore-quota 0\n";
	struct policy p;
	char err[512];

	CHECK(policy_parse(text, sizeof(text) - 1, "v", &p, err, sizeof(err)) == 0);
	CHECK(p.memory == 512ULL << 20 && p.swap == p.memory);
	CHECK(p.nano_cpus == 1500000000ULL);
	CHECK(p.pids == 256 && p.tmp_size == 64ULL << 20);
	CHECK(p.gpu == GPU_IDS && p.ngpu_ids == 2 && strcmp(p.gpu_ids[1], "1") == 0);
	CHECK(p.runtime == RUNTIME_RUNSC && strcmp(p.network, "cw-net") == 0);
	CHECK(p.time_default_ms == 30000 && p.time_max_ms == 120000);
	CHECK(p.lifetime_s == 48U * 3600U);
	/* quotas: a size; 0 is no limit; the floor keeps its default */
	CHECK(p.user_quota == 64ULL << 10 && p.store_quota == 0);
	CHECK(p.free_space_floor == 1ULL << 30);
	CHECK(p.langs[LANG_PY].enabled && !p.langs[LANG_BASH].enabled);
	CHECK(strcmp(policy_lang_image(&p, LANG_PY), IMG) == 0);
	CHECK(policy_lang_image(&p, LANG_BASH) == NULL);
	CHECK(policy_lang_image(&p, -1) == NULL && policy_lang_image(&p, LANG_COUNT) == NULL);
	CHECK(p.langs[LANG_PY].argc == 2 &&
	    strcmp(p.langs[LANG_PY].argv[0], "/usr/local/bin/cw-run") == 0);
	CHECK(policy_lang_from_name("f90") == LANG_F90 && policy_lang_from_name("Py") == -1);
	CHECK(strcmp(policy_lang_name(LANG_COUNT), "?") == 0);
}

/* the admission queue and the trusted proxies, as privd and frontd read them */
static void
test_queue_proxies(void)
{
	static const char text[] = PY
	    "[concurrency]\nqueue 0\nqueue-wait 1500ms\n"
	    "[auth]\ntrusted-proxies 127.0.0.1 10.0.0.0/8 fd00::/8 ::1 0.0.0.0/0\n";
	struct policy p;
	struct policy_net a;
	char err[512], b[64];

	CHECK(policy_parse(PY, sizeof(PY) - 1, "d", &p, err, sizeof(err)) == 0);
	CHECK(p.queue == 32 && p.queue_wait_ms == 30000 && p.nproxies == 0);
	CHECK(policy_parse(text, sizeof(text) - 1, "q", &p, err, sizeof(err)) == 0);
	CHECK(p.queue == 0 && p.queue_wait_ms == 1500 && p.nproxies == 5);
	CHECK(strcmp(policy_net_format(b, sizeof(b), &p.proxies[0]), "127.0.0.1") == 0);
	CHECK(strcmp(policy_net_format(b, sizeof(b), &p.proxies[1]), "10.0.0.0/8") == 0);
	CHECK(strcmp(policy_net_format(b, sizeof(b), &p.proxies[2]), "fd00::/8") == 0);
	CHECK(strcmp(policy_net_format(b, sizeof(b), &p.proxies[4]), "0.0.0.0/0") == 0);
	CHECK(policy_net_parse("10.200.3.4", 0, &a) == 0);
	CHECK(policy_net_match(&p.proxies[1], &a) && !policy_net_match(&p.proxies[0], &a));
	CHECK(policy_net_match(&p.proxies[4], &a));
	CHECK(policy_net_parse("11.0.0.1", 0, &a) == 0 && !policy_net_match(&p.proxies[1], &a));
	CHECK(policy_net_parse("fd12::5", 0, &a) == 0 && policy_net_match(&p.proxies[2], &a));
	CHECK(!policy_net_match(&p.proxies[4], &a));	/* IPv6 is not in 0.0.0.0/0 */
	CHECK(policy_net_parse("::1", 0, &a) == 0 && policy_net_match(&p.proxies[3], &a));
	CHECK(policy_net_parse("::ffff:10.1.2.3", 0, &a) == 0 &&
	    policy_net_match(&p.proxies[1], &a));
	/* strict: no prefix where an address is wanted, no spaces, ports or zones */
	CHECK(policy_net_parse("10.0.0.0/8", 0, &a) == -1);
	CHECK(policy_net_parse(" 10.0.0.1", 0, &a) == -1);
	CHECK(policy_net_parse("10.0.0.1:80", 0, &a) == -1);
	CHECK(policy_net_parse("fe80::1%eth0", 0, &a) == -1);
	CHECK(policy_net_parse("010.0.0.1", 0, &a) == -1);
	CHECK(policy_net_parse("10.0.0", 0, &a) == -1);
	CHECK(policy_net_parse("", 1, &a) == -1 && policy_net_parse("/8", 1, &a) == -1);
	CHECK(policy_net_parse("10.0.0.0/", 1, &a) == -1);
	CHECK(policy_net_parse("::/129", 1, &a) == -1 && policy_net_parse("::/128", 1, &a) == 0);
}

/* [programmatic]: programmatic tool calling's caps, as frontd reads them */
static void
test_programmatic(void)
{
	static const char text[] = PY
	    "[programmatic]\nround-trips 3\nresult-max 64K\ntoken-ttl 90s\n";
	static const struct { const char *text, *err; } bad_ptc[] = {
		{ "[programmatic]\nround-trips 0\n", "t.policy:2: round-trips 0 is below the floor of 1" },
		{ "[programmatic]\nround-trips 1001\n", "t.policy:2: round-trips 1001 is above the ceiling of 1000" },
		{ "[programmatic]\nresult-max 1023\n", "t.policy:2: result-max 1023 is below the floor of 1K" },
		{ "[programmatic]\nresult-max 9M\n", "t.policy:2: result-max 9M is above the ceiling of 8M" },
		{ "[programmatic]\ntoken-ttl 9s\n", "t.policy:2: token-ttl 9s is below the floor of 10s" },
		{ "[programmatic]\ntoken-ttl 2h\n", "t.policy:2: token-ttl 2h is above the ceiling of 1h" },
		{ "[programmatic]\nrounds 3\n", "t.policy:2: unknown key 'rounds' in [programmatic]" },
	};
	struct policy p;
	char err[512];
	size_t i;

	CHECK(policy_parse(PY, sizeof(PY) - 1, "d", &p, err, sizeof(err)) == 0);
	CHECK(p.ptc_round_trips == 50 && p.ptc_result_max == 1ULL << 20 &&
	    p.ptc_token_ttl_ms == 300000);
	CHECK(policy_parse(text, sizeof(text) - 1, "t", &p, err, sizeof(err)) == 0);
	CHECK(p.ptc_round_trips == 3 && p.ptc_result_max == 64ULL << 10 &&
	    p.ptc_token_ttl_ms == 90000);
	round_trip(&p, "programmatic");
	for (i = 0; i < sizeof(bad_ptc) / sizeof(bad_ptc[0]); i++) {
		CHECK_CASE(policy_parse(bad_ptc[i].text, strlen(bad_ptc[i].text), "t.policy",
		    &p, err, sizeof(err)) == -1, bad_ptc[i].text);
		CHECK_CASE(strcmp(err, bad_ptc[i].err) == 0, bad_ptc[i].text);
		if (strcmp(err, bad_ptc[i].err) != 0)
			fprintf(stderr, "  got: %s\n", err);
	}
}

static void
test_store(void)
{
	static const char text[] = PY
	    "[store]\nbackend s3\nendpoint http://127.0.0.1:9000\nbucket cw-files\n"
	    "region eu-west-3\ncredentials /etc/codeward/s3.credentials\n";
	static const struct { const char *text, *err; } bad_store[] = {
		{ "[store]\nbackend nfs\n", "t.policy:2: backend 'nfs': local, or s3" },
		{ "[store]\nbackend s3\n", "t.policy:2: [store] backend s3 needs an endpoint "
		    "and a credentials file (the secret is never in the policy)" },
		{ "[store]\nbackend s3\nendpoint http://s3:9000\n", "t.policy:3: [store] "
		    "backend s3 needs an endpoint and a credentials file (the secret is never "
		    "in the policy)" },
		{ "[store]\nendpoint ftp://s3\n", "t.policy:2: endpoint 'ftp://s3': "
		    "http://HOST[:PORT] or https://HOST[:PORT], nothing after" },
		{ "[store]\nendpoint http://s3:9000/bucket\n", "t.policy:2: endpoint "
		    "'http://s3:9000/bucket': http://HOST[:PORT] or https://HOST[:PORT], nothing after" },
		{ "[store]\nendpoint http://u@s3\n", "t.policy:2: endpoint 'http://u@s3': "
		    "http://HOST[:PORT] or https://HOST[:PORT], nothing after" },
		{ "[store]\nendpoint http://s3:0\n", "t.policy:2: endpoint 'http://s3:0': "
		    "http://HOST[:PORT] or https://HOST[:PORT], nothing after" },
		{ "[store]\nendpoint http://s3:65536\n", "t.policy:2: endpoint 'http://s3:65536': "
		    "http://HOST[:PORT] or https://HOST[:PORT], nothing after" },
		{ "[store]\ncredentials s3.cred\n", "t.policy:2: 's3.cred' is not a plain absolute path ([A-Za-z0-9._:/-], no . or .. components)" },
		{ "[store]\nbucket my/bucket\n", "t.policy:2: 'my/bucket' has characters outside "
		    "[A-Za-z0-9._:-]" },
	};
	struct policy p;
	char err[512];
	size_t i;

	CHECK(policy_parse(PY, sizeof(PY) - 1, "d", &p, err, sizeof(err)) == 0);
	CHECK(p.store_backend == STORE_LOCAL && p.s3_endpoint[0] == '\0' &&
	    strcmp(p.s3_bucket, "codeward") == 0 && strcmp(p.s3_region, "us-east-1") == 0 &&
	    p.s3_credentials[0] == '\0');
	CHECK(policy_parse(text, sizeof(text) - 1, "t", &p, err, sizeof(err)) == 0);
	CHECK(p.store_backend == STORE_S3 &&
	    strcmp(p.s3_endpoint, "http://127.0.0.1:9000") == 0 &&
	    strcmp(p.s3_bucket, "cw-files") == 0 && strcmp(p.s3_region, "eu-west-3") == 0 &&
	    strcmp(p.s3_credentials, "/etc/codeward/s3.credentials") == 0);
	round_trip(&p, "store");
	{
		static const char v6[] = PY "[store]\nendpoint https://[::1]:443\n";

		CHECK(policy_parse(v6, sizeof(v6) - 1, "t", &p, err, sizeof(err)) == 0);
		CHECK(strcmp(p.s3_endpoint, "https://[::1]:443") == 0);
	}
	for (i = 0; i < sizeof(bad_store) / sizeof(bad_store[0]); i++) {
		CHECK_CASE(policy_parse(bad_store[i].text, strlen(bad_store[i].text), "t.policy",
		    &p, err, sizeof(err)) == -1, bad_store[i].text);
		CHECK_CASE(strcmp(err, bad_store[i].err) == 0, bad_store[i].text);
		if (strcmp(err, bad_store[i].err) != 0)
			fprintf(stderr, "  got: %s\n", err);
	}
}

/* a line of exactly the maximum length parses; one byte more does not */
static void
test_limits(void)
{
	static char buf[4096];
	struct policy p;
	char err[512], small[16];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "[sandbox]\n#");
	memset(buf + n, 'x', 1023);
	buf[n + 1023] = '\n';
	CHECK(policy_parse(buf, n + 1024, "t", &p, err, sizeof(err)) == 0);
	memset(buf + n, 'x', 1024);
	buf[n + 1024] = '\n';
	CHECK(policy_parse(buf, n + 1025, "t", &p, err, sizeof(err)) != 0 &&
	    strcmp(err, "t:2: line longer than 1024 bytes") == 0);
	/* a NUL byte is refused like any control character */
	CHECK(policy_parse("[sandbox]\nmemory 1G\0\n", 21, "t.policy", &p, err,
	    sizeof(err)) != 0 && strcmp(err, "t.policy:2: byte 0x00: the policy is "
	    "plain ASCII text") == 0);
	/* an error buffer too small is cut, never overrun */
	memset(small, 'Z', sizeof(small));
	CHECK(policy_parse("[x]\n", 4, "t.policy", &p, small, 8) != 0);
	CHECK(strcmp(small, "t.polic") == 0 && small[8] == 'Z');
	CHECK(policy_parse("[x]\n", 4, "t.policy", &p, NULL, 0) != 0);
	/* the effective policy needs room; too little is an error, not a cut */
	CHECK(policy_parse("", 0, "t", &p, err, sizeof(err)) == 0);
	CHECK(policy_format(&p, small, sizeof(small)) == -1);
	CHECK(policy_format(&p, small, 0) == -1);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* every occurrence of ph replaced by IMG, as ./codeward write_policy does */
static char *
fill_placeholder(const char *buf, size_t len, const char *ph, size_t *outlen)
{
	size_t phl = strlen(ph), il = strlen(IMG), i = 0, o = 0;
	char *out = malloc(len * (il / phl + 1) + 1);

	if (out == NULL)
		return NULL;
	while (i < len) {
		if (len - i >= phl && memcmp(buf + i, ph, phl) == 0) {
			memcpy(out + o, IMG, il);
			o += il;
			i += phl;
		} else {
			out[o++] = buf[i++];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* the shipped policy: fails on its placeholder, parses once it is filled */
static void
test_default(const char *path)
{
	static const char ph[] = "@SANDBOX_IMAGE@";
	struct policy p;
	char err[512], *buf, *filled, *s;
	size_t len, flen, line = 0, n = 0;

	if ((buf = slurp(path, &len)) == NULL) {
		fprintf(stderr, "%s: cannot read\n", path);
		failures++;
		return;
	}
	/* the first setting line that holds the placeholder */
	for (s = buf; s != NULL && *s != '\0'; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL) {
		const char *nl = strchr(s, '\n'), *hash = strchr(s, '#');
		const char *at = strstr(s, ph);

		n++;
		if (at != NULL && (nl == NULL || at < nl) &&
		    (hash == NULL || hash > at || (nl != NULL && hash > nl))) {
			line = n;
			break;
		}
	}
	CHECK(line > 0);
	CHECK(policy_parse(buf, len, "default.policy", &p, err, sizeof(err)) != 0);
	CHECK(strncmp(err, "default.policy:", 15) == 0 &&
	    (size_t)atoi(err + 15) == line && strstr(err, ph) != NULL);
	if ((filled = fill_placeholder(buf, len, ph, &flen)) == NULL) {
		failures++;
		free(buf);
		return;
	}
	if (policy_parse(filled, flen, "default.policy", &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "default.policy: %s\n", err);
		failures++;
	} else {
		/* the statement the issue asks for */
		CHECK(p.langs[LANG_PY].enabled);
		CHECK(p.network[0] == '\0' && p.gpu == GPU_NONE);
		CHECK(p.runtime == RUNTIME_RUNC);
		CHECK(p.swap == p.memory);
		CHECK(p.lifetime_s >= 24U * 3600U);
		/* finite quotas and a floor, so no one fills the disk */
		CHECK(p.user_quota != 0 && p.store_quota != 0 && p.free_space_floor != 0);
		CHECK(p.auth == AUTH_API_KEY);
		round_trip(&p, "default.policy");
	}
	free(filled);
	free(buf);
}

int
main(int argc, char **argv)
{
	test_bad();
	test_good();
	test_values();
	test_queue_proxies();
	test_programmatic();
	test_store();
	test_limits();
	if (argc > 1)
		test_default(argv[1]);
	printf("%zu bad files, %zu good files\n", sizeof(bad) / sizeof(bad[0]),
	    sizeof(good) / sizeof(good[0]));
	return check_done("test_policy");
}
