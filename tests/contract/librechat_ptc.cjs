/*
 * LibreChat's own programmatic tool calling client against a running
 * codeward (issue 17): createProgrammaticToolCallingTool (run_tools_with_code)
 * and createBashProgrammaticToolCallingTool (run_tools_with_bash) from
 * @librechat/agents 3.9.2, invoked as LibreChat's ToolNode invokes them (a
 * ToolCall carrying toolMap and toolDefs), and createBashExecutionTool with
 * an attached workspace ({workspaceId}), with tools that are local
 * JavaScript functions: every value the program prints went sandbox ->
 * codeward -> this client -> back.
 *
 * Environment: LIBRECHAT_CODE_BASEURL (http://127.0.0.1:PORT/v1; auth mode
 * none). Prints one JSON line per step and "PTC OK" at the end; any failure
 * throws and the process exits 1.
 */
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const agents = require('@librechat/agents');
const { tool } = require('@langchain/core/tools');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function step(name, info) {
  console.log(JSON.stringify({ step: name, ...info }));
}

let active = 0, most = 0, calls = 0;
let onCall = null;

function local(name, props, fn) {
  const parameters = { type: 'object', properties: props, required: Object.keys(props) };
  const t = tool(async (input) => {
    calls++;
    active++;
    most = Math.max(most, active);
    try {
      if (onCall) onCall(name);
      await sleep(150);
      return await fn(input);
    } finally {
      active--;
    }
  }, { name, description: name, schema: parameters });
  return { t, def: { name, description: name, parameters } };
}

const tools = [
  local('add', { a: { type: 'number' }, b: { type: 'number' } }, ({ a, b }) => a + b),
  local('get-weather', { city: { type: 'string' } },
    ({ city }) => JSON.stringify({ city, tempC: city.length })),
  local('explode', {}, () => { throw new Error('the local tool exploded'); }),
];
const toolMap = new Map(tools.map((x) => [x.def.name, x.t]));
const toolDefs = tools.map((x) => x.def);

async function invoke(t, args, config) {
  const msg = await t.invoke({
    id: 'call_' + crypto.randomBytes(6).toString('hex'),
    name: t.name,
    args,
    type: 'tool_call',
    toolMap,
    toolDefs,
  }, config);
  return { content: String(msg.content), artifact: msg.artifact };
}

async function main() {
  const py = agents.createProgrammaticToolCallingTool({ maxRoundTrips: 10 });
  const bash = agents.createBashProgrammaticToolCallingTool({ maxRoundTrips: 10 });

  // sequential calls: each result went through the client
  calls = 0;
  let r = await invoke(py, { code: 'x = await add(a=1, b=2)\ny = await add(a=x, b=10)\nprint("sum", y)' });
  step('sequential', { content: r.content, calls });
  assert.match(r.content, /sum 13/);
  assert.equal(calls, 2);

  // parallel: one batch, the two calls at once; a name that needs normalizing
  most = 0;
  r = await invoke(py, { code: 'import asyncio\n' +
    'a, b = await asyncio.gather(get_weather(city="Paris"), get_weather(city="Oslo"))\n' +
    'print(a["tempC"], b["tempC"])' });
  step('parallel', { content: r.content, most });
  assert.match(r.content, /5 4/);
  assert.equal(most, 2, 'the two calls came as one batch');

  // a failing tool, caught in Python
  r = await invoke(py, { code: 'try:\n    await explode()\nexcept ToolExecutionError as e:\n' +
    '    print("caught:", e)' });
  step('caught', { content: r.content });
  assert.match(r.content, /caught: .*the local tool exploded/);

  // a file written after the tool calls, returned as an output
  r = await invoke(py, { code: 'v = await add(a=40, b=2)\n' +
    'open("/mnt/data/answer.txt", "w").write(str(v))\nprint("wrote", v)' });
  step('file', { content: r.content, files: r.artifact && r.artifact.files });
  assert.match(r.content, /wrote 42/);
  assert.deepEqual(r.artifact.files.map((f) => f.name), ['answer.txt']);

  // code that calls no tool, tools offered
  r = await invoke(py, { code: 'print("no tools needed")' });
  step('no-tool', { content: r.content });
  assert.match(r.content, /no tools needed/);

  // bash: a tool function with one JSON argument; a failing one ends the run
  r = await invoke(bash, { code: 'r=$(add \'{"a": 4, "b": 5}\')\necho "got $r"' });
  step('bash', { content: r.content });
  assert.match(r.content, /got 9/);
  await assert.rejects(invoke(bash, { code: 'explode \'{}\'\necho after' }),
    (e) => { step('bash-error', { message: e.message }); return /exploded/.test(e.message); });

  // cancel in the middle of a run: the continue is in flight, the program sleeps
  const ac = new AbortController();
  onCall = () => setTimeout(() => ac.abort(), 1500);
  const t0 = Date.now();
  await assert.rejects(invoke(py, { code: 'import time\nv = await add(a=1, b=1)\ntime.sleep(8)\nprint("never", v)' },
    { signal: ac.signal }));
  onCall = null;
  step('cancel', { ms: Date.now() - t0 });
  assert.ok(Date.now() - t0 < 6000, 'the aborted run was not ended promptly');
  // the bash tool of an agent with an attached workspace: its files kept
  // between calls, another workspace's project empty
  const ws = agents.createBashExecutionTool({ workspaceId: 'contract-proj' });
  const other = agents.createBashExecutionTool({ workspaceId: 'contract-other' });
  r = await invoke(ws, { command: 'echo kept > notes.txt; echo art > "$LIBRECHAT_CODE_DATA_DIR/art.txt"; pwd' });
  step('workspace-1', { content: r.content, files: r.artifact && r.artifact.files });
  assert.match(r.content, /\/mnt\/data\/\.workspace/);
  r = await invoke(ws, { command: 'cat notes.txt' });
  step('workspace-2', { content: r.content });
  assert.match(r.content, /kept/);
  r = await invoke(other, { command: 'ls -A | wc -l' });
  step('workspace-other', { content: r.content });
  assert.match(r.content, /^0$/m);
  console.log('PTC OK');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
