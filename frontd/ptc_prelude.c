/*
 * The program a programmatic run executes: a prelude that makes each tool a
 * function of the language, then the user's code. The prelude speaks the
 * fd 3 / fd 4 protocol of ptc.h; it is text, generated here, and runs inside
 * the sandbox with no more rights than the code after it (so nothing it does
 * is a boundary: frontd checks every line the program writes).
 *
 * Python: each tool an async function taking keyword arguments (or one dict)
 * that returns the decoded result (a string holding a JSON object or array
 * is decoded, as the client does for bash); calls started together (asyncio.
 * gather) are sent as one batch once the event loop has run every task that
 * was ready; a failed tool raises ToolExecutionError(message). The code is
 * compiled with top-level await allowed, in the module's own namespace, so
 * it runs as written (no re-indenting: its strings and line numbers stay).
 * A ToolExecutionError nobody caught ends the run with status error.
 *
 * Bash: each tool a shell function taking one JSON string (none: {}) that
 * prints the result as compact JSON (a string holding an object or array
 * decoded); calls made together (& ... wait) form one batch: a call spools
 * its request, the first to take the lock waits until no new call has come
 * for 100 ms, sends them all and hands each its result. A failed tool puts
 * its message on stderr and ends the whole program with status error. It
 * uses jq, flock and mktemp, which the sandbox image carries.
 */
#include "ptc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a growing buffer; err set once an allocation fails */
struct text {
	char	*s;
	size_t	len, cap;
	int	err;
};

static void
put(struct text *t, const char *s, size_t n)
{
	char *ns;
	size_t cap;

	if (t->err)
		return;
	if (t->len + n + 1 > t->cap) {
		cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		if ((ns = realloc(t->s, cap)) == NULL) {
			t->err = 1;
			return;
		}
		t->s = ns;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void
puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

/*
 * s as a double-quoted string literal that is both JSON and Python: '"' and
 * '\\' escaped, every other byte below 0x20, DEL and (when ascii) every
 * byte of '\'' as \u00XX; other bytes (valid UTF-8) as they are. With
 * ascii, the literal also sits inside a bash single-quoted word.
 */
static void
put_literal(struct text *t, const char *s, int ascii)
{
	char u[8];

	puts_(t, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			u[0] = '\\';
			u[1] = (char)c;
			put(t, u, 2);
		} else if (c < 0x20 || c == 0x7f || (ascii && c == '\'')) {
			snprintf(u, sizeof(u), "\\u%04x", c);
			put(t, u, 6);
		} else {
			put(t, s, 1);
		}
	}
	puts_(t, "\"");
}

/*
 * The machinery lives in a module of its own, so that a tool named like a
 * builtin (eval, len, str) shadows it for the user's code, not for it.
 */
static const char py_workspace[] =
"import os as __cw_os\n"
"__cw_os.makedirs('/mnt/data/.workspace', exist_ok=True)\n"
"__cw_os.chdir('/mnt/data/.workspace')\n"
"__cw_os.environ['LIBRECHAT_CODE_DATA_DIR'] = '/mnt/data'\n"
"del __cw_os\n";
static const char bash_workspace[] =
"command mkdir -p /mnt/data/.workspace && cd /mnt/data/.workspace || exit 1\n"
"export LIBRECHAT_CODE_DATA_DIR=/mnt/data\n";

static const char py_prelude[] =
"import asyncio, json\n"
"import types as __ptc_types\n"
"__ptc = __ptc_types.ModuleType('__ptc')\n"
"exec(compile(r\"\"\"\n"
"import asyncio, json, linecache, os, sys, traceback\n"
"\n"
"class ToolExecutionError(Exception):\n"
"    pass  # a tool failed: the message is the tool's own error\n"
"\n"
"ToolExecutionError.__module__ = 'builtins'\n"
"io = []\n"
"pending = []\n"
"count = [0]\n"
"flusher = [None]\n"
"\n"
"def decode(v):\n"
"    if isinstance(v, str) and v.strip()[:1] in ('{', '['):\n"
"        try:\n"
"            return json.loads(v)\n"
"        except ValueError:\n"
"            pass\n"
"    return v\n"
"\n"
"def exchange(line):\n"
"    if not io:\n"
"        io.append(os.fdopen(3, 'w', encoding='utf-8', closefd=False))\n"
"        io.append(os.fdopen(4, 'r', encoding='utf-8', closefd=False))\n"
"    io[0].write(line + '\\n')\n"
"    io[0].flush()\n"
"    if line.startswith('{\"error\"'):\n"
"        return None\n"
"    answer = io[1].readline()\n"
"    if not answer:\n"
"        sys.stderr.write('programmatic tool calling: the tools went away\\n')\n"
"        os._exit(1)\n"
"    return {r['id']: r for r in json.loads(answer)['results']}\n"
"\n"
"async def flush():\n"
"    # every task started together reaches its call before the batch goes\n"
"    n = -1\n"
"    while n != len(pending):\n"
"        n = len(pending)\n"
"        for _ in range(8):\n"
"            await asyncio.sleep(0)\n"
"    batch = pending[:]\n"
"    del pending[:]\n"
"    flusher[0] = None\n"
"    try:\n"
"        got = exchange('{\"calls\":[' + ','.join(c[1] for c in batch) + ']}')\n"
"    except BaseException as e:\n"
"        for c in batch:\n"
"            c[2].set_exception(e)\n"
"        raise\n"
"    for cid, _, fut in batch:\n"
"        r = got.get(cid)\n"
"        if r is None:\n"
"            fut.set_exception(ToolExecutionError('no result came for this call'))\n"
"        elif r.get('is_error'):\n"
"            fut.set_exception(ToolExecutionError(r.get('error_message') or 'the tool failed'))\n"
"        else:\n"
"            fut.set_result(decode(r.get('result')))\n"
"\n"
"async def call(name, args, kwargs):\n"
"    if args:\n"
"        if len(args) != 1 or kwargs or not isinstance(args[0], dict):\n"
"            raise TypeError('a tool takes keyword arguments (or one dict)')\n"
"        kwargs = args[0]\n"
"    count[0] += 1\n"
"    cid = 'c%d' % count[0]\n"
"    line = json.dumps({'id': cid, 'name': name, 'input': kwargs},\n"
"                      allow_nan=False, separators=(',', ':'))\n"
"    fut = asyncio.get_running_loop().create_future()\n"
"    pending.append((cid, line, fut))\n"
"    if flusher[0] is None:\n"
"        flusher[0] = asyncio.ensure_future(flush())\n"
"    return await fut\n"
"\n"
"def report(e):\n"
"    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == '<code>']\n"
"    text = ''.join(traceback.format_exception_only(type(e), e))\n"
"    if frames:\n"
"        text = ('Traceback (most recent call last):\\n' +\n"
"                ''.join(traceback.format_list(frames)) + text)\n"
"    sys.stderr.write(text)\n"
"\n"
"def run(src):\n"
"    linecache.cache['<code>'] = (len(src), None, src.splitlines(True), '<code>')\n"
"    try:\n"
"        # 0x2000: PyCF_ALLOW_TOP_LEVEL_AWAIT\n"
"        code = compile(src, '<code>', 'exec', flags=0x2000, dont_inherit=True)\n"
"        r = eval(code, sys.modules['__main__'].__dict__)\n"
"        if r is not None:\n"
"            asyncio.run(r)\n"
"    except ToolExecutionError as e:\n"
"        report(e)\n"
"        sys.stderr.flush()\n"
"        exchange(json.dumps({'error': str(e)}, separators=(',', ':')))\n"
"        sys.exit(1)\n"
"    except (SystemExit, KeyboardInterrupt):\n"
"        raise\n"
"    except BaseException as e:\n"
"        report(e)\n"
"        sys.exit(1)\n"
"\"\"\", '<ptc>', 'exec'), __ptc.__dict__)\n"
"ToolExecutionError = __ptc.ToolExecutionError\n"
"\n";

static const char bash_prelude[] =
"__ptc_main=$$\n"
"__ptc_n=0\n"
"__ptc_dir=$(command mktemp -d \"${TMPDIR:-/tmp}/.ptc.XXXXXX\") || "
"{ builtin echo 'programmatic tool calling: no scratch directory' >&2; builtin exit 1; }\n"
"builtin trap 'command rm -rf -- \"$__ptc_dir\"' EXIT\n"
"__ptc_gone() {\n"
"\tbuiltin echo 'programmatic tool calling: the tools went away' >&2\n"
"\tbuiltin kill -TERM \"$__ptc_main\" 2>/dev/null\n"
"\tbuiltin exit 1\n"
"}\n"
"__ptc_flush() {\n"
"\tlocal n=-1 quiet=0 line sep= id ids=()\n"
"\twhile [ \"$quiet\" -lt 2 ]; do\n"
"\t\tcommand sleep 0.05\n"
"\t\tbuiltin set -- \"$__ptc_dir\"/q.*\n"
"\t\t[ -e \"${1-}\" ] || builtin set --\n"
"\t\tif [ \"$#\" -eq \"$n\" ]; then quiet=$((quiet + 1)); else quiet=0; n=$#; fi\n"
"\tdone\n"
"\t[ \"$#\" -gt 0 ] || builtin return 0\n"
"\tline='{\"calls\":['\n"
"\tfor id in \"$@\"; do line+=\"$sep$(<\"$id\")\"; sep=,; ids+=(\"${id##*/q.}\"); done\n"
"\tcommand rm -f -- \"$@\"\n"
"\tbuiltin printf '%s]}\\n' \"$line\" >&3 || __ptc_gone\n"
"\tcommand head -n 1 <&4 >\"$__ptc_dir/answer\" || __ptc_gone\n"
"\t[ -s \"$__ptc_dir/answer\" ] || __ptc_gone\n"
"\tfor id in \"${ids[@]}\"; do\n"
"\t\tcommand jq -c --arg id \"$id\" 'first(.results[] | select(.id == $id))' "
"\"$__ptc_dir/answer\" >\"$__ptc_dir/t.$id\" 2>/dev/null\n"
"\t\tcommand mv -f -- \"$__ptc_dir/t.$id\" \"$__ptc_dir/r.$id\" || __ptc_gone\n"
"\tdone\n"
"}\n"
"__ptc_call() {\n"
"\tlocal id=\"c${BASHPID}_$((__ptc_n += 1))\" input=\"${2-}\" r msg\n"
"\t[ -n \"$input\" ] || input='{}'\n"
"\tinput=${input//$'\\n'/ }\n"
"\tinput=${input//$'\\r'/ }\n"
"\tbuiltin printf '{\"id\":\"%s\",\"name\":%s,\"input\":%s}' \"$id\" \"$1\" "
"\"$input\" >\"$__ptc_dir/w.$id\" || __ptc_gone\n"
"\tcommand mv -f -- \"$__ptc_dir/w.$id\" \"$__ptc_dir/q.$id\" || __ptc_gone\n"
"\tr=\"$__ptc_dir/r.$id\"\n"
"\twhile [ ! -e \"$r\" ]; do\n"
"\t\t( command flock 9 || builtin exit 1; [ -e \"$r\" ] || __ptc_flush ) "
"9>\"$__ptc_dir/lock\" || __ptc_gone\n"
"\tdone\n"
"\tif [ \"$(command jq -r '.is_error' \"$r\" 2>/dev/null)\" != false ]; then\n"
"\t\tmsg=$(command jq -r '.error_message // \"the tool failed\"' \"$r\" 2>/dev/null)\n"
"\t\t[ -n \"$msg\" ] || msg='no result came for this call'\n"
"\t\tbuiltin printf 'ToolExecutionError: %s\\n' \"$msg\" >&2\n"
"\t\t( command flock 9; command jq -cn --arg m \"$msg\" '{error: $m}' >&3 ) "
"9>\"$__ptc_dir/lock\"\n"
"\t\tbuiltin kill -TERM \"$__ptc_main\" 2>/dev/null\n"
"\t\tbuiltin exit 1\n"
"\tfi\n"
"\tcommand jq -c '.result | if type == \"string\" then (try (fromjson | "
"select(type == \"object\" or type == \"array\")) catch empty) // . else . end' "
"\"$r\"\n"
"\tcommand rm -f -- \"$r\"\n"
"}\n";

char *
ptc_program(const struct ptc_start *s, size_t *len)
{
	struct text t = { NULL, 0, 0, 0 };
	size_t i;

	/* an attached workspace: the working directory (workspace.h) */
	if (s->workspace)
		puts_(&t, s->lang == PTC_PY ? py_workspace : bash_workspace);
	if (s->lang == PTC_PY) {
		puts_(&t, py_prelude);
		for (i = 0; i < s->ntools; i++) {
			puts_(&t, "async def ");
			puts_(&t, s->tools[i].ident);
			puts_(&t, "(*args, **kwargs):\n    return await __ptc.call(");
			put_literal(&t, s->tools[i].name, 0);
			puts_(&t, ", args, kwargs)\n\n");
		}
		puts_(&t, "__ptc.run(");
		put_literal(&t, s->code, 0);
		puts_(&t, ")\n");
	} else {
		puts_(&t, bash_prelude);
		for (i = 0; i < s->ntools; i++) {
			puts_(&t, s->tools[i].ident);
			puts_(&t, "() { __ptc_call '");
			put_literal(&t, s->tools[i].name, 1);
			puts_(&t, "' \"${1-}\"; }\n");
		}
		/* the code as it is, from the next line on */
		put(&t, s->code, s->code_len);
		puts_(&t, "\n");
	}
	if (t.err) {
		free(t.s);
		return NULL;
	}
	*len = t.len;
	return t.s;
}
