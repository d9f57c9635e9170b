// cw-ts.js SRC OUT — TypeScript to JavaScript for the codeward runner.
//
// Strips the types of one file with Debian's TypeScript library
// (transpileModule: no type check, no lib files to load, about 0.4 s instead
// of tsc's 3 s). Syntax errors are printed to stderr as tsc prints them and
// the exit status is 1; otherwise OUT is written as CommonJS with an inline
// source map, so Node's stack traces name the lines of SRC.
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const [src, out] = process.argv.slice(2);
if (!src || !out) {
	process.stderr.write('usage: cw-ts.js SRC OUT\n');
	process.exit(2);
}
const result = ts.transpileModule(fs.readFileSync(src, 'utf8'), {
	fileName: path.basename(src),
	reportDiagnostics: true,
	compilerOptions: {
		module: ts.ModuleKind.CommonJS,
		target: ts.ScriptTarget.ES2022,
		esModuleInterop: true,
		inlineSourceMap: true,
		inlineSources: true,
	},
});
const errors = (result.diagnostics || []).filter(
	(d) => d.category === ts.DiagnosticCategory.Error);
if (errors.length > 0) {
	process.stderr.write(ts.formatDiagnostics(errors, {
		getCanonicalFileName: (f) => f,
		getCurrentDirectory: () => '',
		getNewLine: () => '\n',
	}));
	process.exit(1);
}
fs.writeFileSync(out, result.outputText);
