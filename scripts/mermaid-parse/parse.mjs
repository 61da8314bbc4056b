// Parse Mermaid diagrams with Mermaid's own parser (in jsdom: mermaid wants a DOM), as the
// tests do:  node scripts/mermaid-parse/parse.mjs map.mmd [more.mmd ...]
// Prints "ok FILE (TYPE)" or "FILE: error" per file; exits 1 if any fails to parse.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const name of ["Element", "HTMLElement", "Node", "DOMParser", "navigator"]) {
  if (!(name in globalThis)) globalThis[name] = dom.window[name];
}
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let failed = false;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node parse.mjs FILE...");
  process.exit(2);
}
for (const file of files) {
  const text = readFileSync(file, "utf8");
  try {
    const result = await mermaid.parse(text);
    console.log(`ok ${file} (${result.diagramType})`);
  } catch (err) {
    failed = true;
    console.log(`${file}: ${String(err && err.message ? err.message : err).split("\n").join(" ")}`);
  }
}
process.exit(failed ? 1 : 0);
