/*
 * LibreChat's own client code against a running codeward.
 *
 * The exec calls are the published client's (@librechat/agents 3.9.2:
 * createCodeExecutionTool, createBashExecutionTool, fetchSessionFiles),
 * invoked the way LibreChat's agent runtime invokes them: a tool call whose
 * _injected_files carry the file references. Upload, download, freshness and
 * delete live in LibreChat's server code, not in the package: here they are
 * replicas of those axios calls (the shapes in shared/librechat-captures).
 *
 * Environment:
 *   LIBRECHAT_CODE_BASEURL   http://127.0.0.1:PORT/v1 (read by the package too)
 *   CW_GENERATION            current (no auth header; kind/id fields, storage_session_id)
 *                            old     (X-API-Key; entity_id; {id, session_id, name})
 *   CW_API_KEY               the key, for the old generation
 *   CW_USER_ID               LibreChat's user id
 *   CW_WORKDIR               a scratch folder for the CSV to upload
 *
 * Prints one JSON line per step and "FLOW OK" at the end; any failure throws
 * and the process exits 1.
 */
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const axios = require('axios');
const FormData = require('form-data');
const agents = require('@librechat/agents');

const baseURL = process.env.LIBRECHAT_CODE_BASEURL;
const generation = process.env.CW_GENERATION || 'current';
const apiKey = process.env.CW_API_KEY || '';
const userId = process.env.CW_USER_ID || '6650f1c2a1b2c3d4e5f60718';
const workdir = process.env.CW_WORKDIR || fs.mkdtempSync('/tmp/cw-flow-');
const old = generation === 'old';
const ID = /^[A-Za-z0-9_-]{21}$/;

assert.ok(baseURL, 'LIBRECHAT_CODE_BASEURL is not set');
assert.equal(agents.getCodeBaseURL(), baseURL, 'the package reads another base URL');

function step(name, info) {
  console.log(JSON.stringify({ step: name, ...info }));
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/* the headers LibreChat's server code sends to the Code API */
function apiHeaders(extra) {
  return { 'User-Agent': 'LibreChat/1.0', ...(old ? { 'X-API-Key': apiKey } : {}), ...extra };
}

/* the auth headers the package's tools are built with */
const toolAuth = old ? { 'X-API-Key': apiKey } : undefined;

/* LibreChat: uploadCodeEnvFile (crud.js), a form-data stream over axios */
async function upload(filePath, filename) {
  const form = new FormData();
  if (old) {
    // the old generation names no kind; entity_id only for an agent's file
  } else {
    form.append('kind', 'user');
    form.append('id', userId);
  }
  form.append('file', fs.createReadStream(filePath), filename);
  const res = await axios.post(`${baseURL}/upload`, form, {
    headers: { ...form.getHeaders(), ...apiHeaders({ 'User-Id': userId }) },
    maxContentLength: 150 * 1024 * 1024,
    maxBodyLength: 150 * 1024 * 1024,
  });
  const result = res.data;
  assert.equal(result.message, 'success', 'upload message');
  assert.match(result.session_id, ID);
  assert.equal(result.storage_session_id, result.session_id, 'both session keys');
  assert.equal(result.files.length, 1);
  assert.match(result.files[0].fileId, ID);
  assert.equal(result.files[0].filename, filename);
  return { session_id: result.session_id, fileId: result.files[0].fileId };
}

function scopeQuery() {
  return old ? {} : { kind: 'user', id: userId };
}

/* LibreChat: getCodeOutputDownloadStream, responseType stream */
async function download(sessionId, fileId) {
  const res = await axios({
    method: 'get',
    url: `${baseURL}/download/${sessionId}/${fileId}`,
    params: scopeQuery(),
    responseType: 'stream',
    headers: apiHeaders(),
    timeout: 15000,
  });
  const chunks = [];
  for await (const c of res.data) chunks.push(c);
  const body = Buffer.concat(chunks);
  assert.equal(res.headers['content-encoding'], undefined, 'no Content-Encoding');
  assert.equal(Number(res.headers['content-length']), body.length, 'exact Content-Length');
  assert.match(res.headers['content-disposition'], /^attachment; filename="/);
  assert.ok(res.headers['content-type'], 'a Content-Type');
  return { body, headers: res.headers };
}

/* LibreChat: getSessionInfo, the freshness check before re-using a file */
async function freshness(sessionId, fileId) {
  const res = await axios({
    method: 'get',
    url: `${baseURL}/sessions/${sessionId}/objects/${fileId}`,
    params: scopeQuery(),
    headers: apiHeaders(),
    timeout: 5000,
  });
  return res.data;
}

/* the DELETE LibreChat sends when a file is removed */
async function remove(sessionId, fileId, form) {
  const url = form === 'objects'
    ? `${baseURL}/sessions/${sessionId}/objects/${fileId}`
    : `${baseURL}/files/${sessionId}/${fileId}`;
  const res = await axios.delete(url, { params: scopeQuery(), headers: apiHeaders() });
  return res.data;
}

async function status(promise) {
  try {
    const r = await promise;
    return r.status || 200;
  } catch (e) {
    if (e.response) return e.response.status;
    throw e;
  }
}

/* a file reference in the generation's own shape */
function ref(file, sessionId) {
  if (old) return { id: file.id, session_id: sessionId, name: file.name };
  return {
    id: file.id, resource_id: file.resource_id || file.id, name: file.name,
    storage_session_id: sessionId, kind: 'user',
  };
}

/* invoke a tool the way the agent runtime does: a ToolCall with injected files */
async function invoke(tool, args, injected) {
  const msg = await tool.invoke({
    id: 'call_' + crypto.randomBytes(6).toString('hex'),
    name: tool.name,
    args,
    type: 'tool_call',
    ...(injected && injected.length ? { _injected_files: injected } : {}),
  });
  return { content: String(msg.content), artifact: msg.artifact };
}

const PY = `
import csv, hashlib, os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = list(csv.DictReader(open("/mnt/data/data.csv")))
xs = [float(r["x"]) for r in rows]
ys = [float(r["y"]) for r in rows]
print("rows", len(rows), "sum", sum(ys))
plt.plot(xs, ys, marker="o")
plt.title("codeward contract")
plt.savefig("/mnt/data/plot.png")
with open("/mnt/data/doubled.csv", "w") as f:
    f.write("x,y2\\n")
    for x, y in zip(xs, ys):
        f.write("%g,%g\\n" % (x, 2 * y))
for n in ("plot.png", "doubled.csv"):
    print(n, hashlib.sha256(open("/mnt/data/" + n, "rb").read()).hexdigest())
`;

async function main() {
  const csvPath = path.join(workdir, 'data.csv');
  const csv = 'x,y\n' + Array.from({ length: 20 }, (_, i) => `${i},${(i * i) % 17}`).join('\n') + '\n';
  fs.writeFileSync(csvPath, csv);
  const expectSum = Array.from({ length: 20 }, (_, i) => (i * i) % 17).reduce((a, b) => a + b, 0);

  // 1. upload the CSV
  const up = await upload(csvPath, 'data.csv');
  step('upload', up);
  const fresh0 = await freshness(up.session_id, up.fileId);
  assert.equal(fresh0.size, Buffer.byteLength(csv));
  assert.ok(!Number.isNaN(Date.parse(fresh0.lastModified)), 'lastModified parses');

  // 2. python reads it, writes a PNG plot and a CSV
  const codeTool = agents.createCodeExecutionTool({
    authHeaders: toolAuth,
    user_id: userId,
    ...(old ? { LIBRECHAT_CODE_API_KEY: apiKey } : {}),
  });
  const input = ref({ id: up.fileId, resource_id: userId, name: 'data.csv' }, up.session_id);
  const py = await invoke(codeTool, { lang: 'py', code: PY }, [input]);
  step('python', { content: py.content.slice(0, 400) });
  assert.ok(py.content.includes(`rows 20 sum ${expectSum}`), 'python read the CSV: ' + py.content);
  const art = py.artifact;
  assert.match(art.session_id, ID);
  const names = art.files.map((f) => f.name).sort();
  assert.deepEqual(names, ['doubled.csv', 'plot.png'], 'output files ' + JSON.stringify(art.files));
  for (const f of art.files) {
    assert.match(f.id, ID);
    assert.equal(f.storage_session_id, art.session_id);
  }
  const shas = {};
  for (const line of py.content.split('\n')) {
    const m = line.match(/^(plot\.png|doubled\.csv) ([0-9a-f]{64})$/);
    if (m) shas[m[1]] = m[2];
  }

  // 3. both download byte-exact
  const outputs = {};
  for (const f of art.files) {
    const d = await download(art.session_id, f.id);
    assert.equal(sha256(d.body), shas[f.name], `${f.name} downloads byte-exact`);
    outputs[f.name] = { ...f, bytes: d.body, type: d.headers['content-type'] };
  }
  const png = outputs['plot.png'].bytes;
  assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
    'PNG signature');
  assert.equal(outputs['plot.png'].type, 'image/png');
  const expectCsv = 'x,y2\n' + Array.from({ length: 20 }, (_, i) => `${i},${2 * ((i * i) % 17)}`).join('\n') + '\n';
  assert.equal(outputs['doubled.csv'].bytes.toString(), expectCsv, 'the CSV written by the run');
  step('download', { png: png.length, csv: outputs['doubled.csv'].bytes.length });

  // 4. freshness answers lastModified (LibreChat re-uploads past 23 h)
  const fresh = await freshness(art.session_id, outputs['plot.png'].id);
  const age = Date.now() - Date.parse(fresh.lastModified);
  assert.ok(age >= -5000 && age < 60000, 'lastModified is the creation time: ' + fresh.lastModified);
  assert.equal(fresh.size, png.length);
  assert.equal(fresh.name, `${art.session_id}/${outputs['plot.png'].id}`);
  step('freshness', fresh);

  // 5. the session's files as the client lists them
  let listed;
  if (old) {
    // the old generation: GET /files/{sid}?detail=full, the id is the text
    // of name after '/' up to the first '.'
    const res = await axios.get(`${baseURL}/files/${art.session_id}`, {
      params: { detail: 'full' }, headers: apiHeaders(),
    });
    listed = res.data.map((f) => ({
      id: f.name.split('/')[1].split('.')[0],
      name: f.metadata['original-filename'],
    }));
  } else {
    listed = await agents.fetchSessionFiles(baseURL, art.session_id, { kind: 'user', id: userId },
      toolAuth);
  }
  assert.deepEqual(listed.map((f) => f.name).sort(), ['doubled.csv', 'plot.png'],
    'listing ' + JSON.stringify(listed));
  for (const f of listed) assert.equal(f.id, outputs[f.name].id, 'listed id');
  step('listing', { files: listed });

  // 6. a bash run sees every file under /mnt/data
  const bashTool = agents.createBashExecutionTool({ authHeaders: toolAuth, user_id: userId });
  const injected = [input, ...listed.map((f) => ref(f, art.session_id))];
  const bash = await invoke(bashTool,
    { command: 'cd /mnt/data && for f in data.csv plot.png doubled.csv; do sha256sum "$f"; done; ls /mnt/data' },
    injected);
  step('bash', { content: bash.content.slice(0, 600) });
  assert.ok(bash.content.includes(`${sha256(Buffer.from(csv))}  data.csv`), 'data.csv in bash');
  assert.ok(bash.content.includes(`${shas['plot.png']}  plot.png`), 'plot.png in bash');
  assert.ok(bash.content.includes(`${shas['doubled.csv']}  doubled.csv`), 'doubled.csv in bash');
  // nothing changed: nothing is handed back as a new file
  assert.equal((bash.artifact.files || []).filter((f) => !f.inherited).length, 0,
    'unchanged inputs are not new files: ' + JSON.stringify(bash.artifact));

  // 7. delete, then 404
  const delA = await remove(art.session_id, outputs['plot.png'].id, 'files');
  assert.deepEqual(delA, { message: 'File deleted successfully', session_id: art.session_id,
    fileId: outputs['plot.png'].id });
  const delB = await remove(up.session_id, up.fileId, 'objects');
  assert.equal(delB.fileId, up.fileId);
  assert.equal(await status(download(art.session_id, outputs['plot.png'].id)), 404, 'download after delete');
  assert.equal(await status(freshness(up.session_id, up.fileId)), 404, 'freshness after delete');
  assert.equal(await status(remove(up.session_id, up.fileId, 'files')), 404, 'second delete');
  step('delete', { ok: true });

  // 8. a failed program is still an answer; its status is in stderr
  const bad = await invoke(codeTool, { lang: 'py', code: 'import sys\nprint("before")\nsys.exit(3)' });
  assert.ok(bad.content.includes('before') && bad.content.includes('exit status 3'), bad.content);
  step('failure', { content: bad.content.slice(0, 200) });
  console.log('FLOW OK');
}

main().catch((e) => {
  console.error('FLOW FAILED:', e && e.stack ? e.stack : e);
  if (e && e.response) console.error('answer:', e.response.status, JSON.stringify(e.response.data));
  process.exit(1);
});
