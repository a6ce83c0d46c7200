// Check built ES modules against their sources with acorn (no assetpipe code).
//   usage: node js_module_check.js < pairs.json   (acorn found via NODE_PATH)
// stdin: [[source, built, outputRoot], ...].  For each pair: the built file's
// token stream (sourceType "module") must equal the source's, except that a
// string may gain a version (".v<hex>") or a bundler-style extension; and
// every relative specifier in the built file's import/export declarations
// and import() calls must name an existing file with a versioned name.
// Prints one line per problem; nothing when all is well.
"use strict";
const fs = require("fs");
const path = require("path");
const acorn = require("acorn");

const VERSIONED = /\.v[0-9a-f]{8,32}(\.[^./]+)?$/;
const SUFFIXES = ["", ".js", ".mjs", "/index.js", "/index.mjs"];
const opts = (sourceType) => ({ecmaVersion: "latest", sourceType, allowHashBang: true});

function goal(text) {
  try { acorn.parse(text, opts("module")); return "module"; } catch (e) { return "script"; }
}

function tokens(text, sourceType) {
  const out = [];
  for (const tok of acorn.tokenizer(text, opts(sourceType))) {
    let value = tok.value;
    if (tok.type === acorn.tokTypes.regexp) value = value.pattern + "/" + value.flags;
    else if (typeof value === "bigint") value = value.toString() + "n";
    out.push([tok.type.label, value === undefined ? null : String(value)]);
  }
  return out;
}

function sameString(src, built) {
  const stripped = built.replace(/\.v[0-9a-f]{8,32}(?=(\.[^./]+)?$)/, "");
  return SUFFIXES.some((s) => src + s === stripped);
}

function specifiers(node, found) {
  if (!node || typeof node.type !== "string") return;
  const isImport = ["ImportDeclaration", "ExportAllDeclaration", "ExportNamedDeclaration",
                    "ImportExpression"].includes(node.type);
  const spec = isImport && (node.source && node.source.type === "Literal") ? node.source.value : null;
  if (typeof spec === "string") found.push(spec);
  for (const key of Object.keys(node)) {
    const child = node[key];
    if (Array.isArray(child)) child.forEach((c) => specifiers(c, found));
    else if (child && typeof child.type === "string") specifiers(child, found);
  }
}

const pairs = JSON.parse(fs.readFileSync(0, "utf8"));
let checked = 0;
for (const [source, built] of pairs) {
  const srcText = fs.readFileSync(source, "utf8").replace(/^\uFEFF/, "");
  const builtText = fs.readFileSync(built, "utf8");
  const sourceType = goal(srcText);
  const a = tokens(srcText, sourceType), b = tokens(builtText, sourceType);
  const i = a.findIndex((t, k) => !b[k] || t[0] !== b[k][0] ||
                        (t[1] !== b[k][1] && !(t[0] === "string" && sameString(t[1], b[k][1]))));
  if (i >= 0 || a.length !== b.length) {
    console.log(`${built}: token ${i} differs from ${source}: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])}`);
  }
  const found = [];
  specifiers(acorn.parse(builtText, opts(sourceType)), found);
  for (const spec of found.filter((s) => s.startsWith("./") || s.startsWith("../"))) {
    const target = path.join(path.dirname(built), spec);
    if (!VERSIONED.test(spec) || !fs.existsSync(target)) console.log(`${built}: ${spec} names no versioned file`);
  }
  checked += 1;
}
console.error(`checked ${checked} modules`);
