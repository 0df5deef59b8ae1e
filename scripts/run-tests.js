#!/usr/bin/env node
/**
 * Runs every compiled test file with node-tap and ends with the line CI reads:
 *   N passed, N failed, N skipped
 * counted over the top-level subtests of all files. Skips are listed with their reasons
 * (a skipped test is not a passed one). Exit status is tap's.
 */
'use strict';
const { spawn } = require('child_process');
const path = require('path');
const fs = require('fs');

const root = path.resolve(__dirname, '..');
const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ['dist/test/unit', 'dist/test/integration'];
const files = [];
for (const d of dirs) {
  const abs = path.resolve(root, d);
  if (fs.existsSync(abs) && fs.statSync(abs).isFile()) { files.push(d); continue; }
  if (!fs.existsSync(abs)) continue;
  for (const f of fs.readdirSync(abs).sort()) if (f.endsWith('.test.js')) files.push(path.join(d, f));
}
if (files.length === 0) {
  console.log('no test files found (run make build)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const tap = path.join(root, 'node_modules/.bin/tap');
// Integration tests share the machine's network namespaces and devices: run files one by one.
const args = ['--disable-coverage', '--reporter=tap', '--jobs=1', '--timeout=900', ...files];
const child = spawn(tap, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let passed = 0, failed = 0, skipped = 0;
const skips = [];
const failures = [];
let buf = '';
let currentFile = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  buf += chunk.toString();
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const file = /^# Subtest: (dist\/\S+)/.exec(line);
    if (file) currentFile = file[1];
    // Top-level subtests of a file are indented by exactly 4 spaces.
    const m = /^ {4}(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b(.*?))?(?: # time=.*)?$/.exec(line);
    if (!m) {
      const fileFail = /^not ok \d+ - (dist\/\S+)/.exec(line);
      if (fileFail && !failures.some((f) => f.startsWith(fileFail[1]))) { failed++; failures.push(`${fileFail[1]} (file failed)`); }
      continue;
    }
    if (m[3] === 'SKIP') { skipped++; skips.push(`${currentFile}: ${m[2]} — ${(m[4] || '').trim()}`); }
    else if (m[1] === 'ok') passed++;
    else { failed++; failures.push(`${currentFile}: ${m[2]}`); }
  }
});
child.on('close', (code) => {
  if (skips.length) { console.log('\nSkipped (not passed):'); for (const s of skips) console.log('  - ' + s); }
  if (failures.length) { console.log('\nFailed:'); for (const f of failures) console.log('  - ' + f); }
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
