// Validate AsyncAPI documents with the official parser (@asyncapi/parser), as the tests do:
//   node scripts/asyncapi-parser/validate.js doc.yaml [doc2.yaml ...]
// Prints one line per document ("ok FILE" or "FILE:LINE: message" per diagnostic of severity
// error); exits 1 if any document has an error, 2 on unusable arguments.
"use strict";
const fs = require("fs");
const path = require("path");
const { Parser, fromFile } = require("@asyncapi/parser");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node validate.js DOC...");
    return 2;
  }
  const parser = new Parser();
  let failed = false;
  for (const file of files) {
    if (!fs.existsSync(file)) {
      console.error(`${file}: no such file`);
      return 2;
    }
    const { document, diagnostics } = await fromFile(parser, path.resolve(file)).parse();
    const errors = diagnostics.filter((d) => d.severity === 0);
    for (const d of errors) {
      const line = d.range && d.range.start ? d.range.start.line + 1 : 0;
      console.log(`${file}:${line}: ${d.code}: ${d.message} (at ${d.path.join(".")})`);
    }
    if (errors.length > 0 || document === undefined) {
      failed = true;
    } else {
      console.log(`ok ${file} (AsyncAPI ${document.version()})`);
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(2);
  },
);
