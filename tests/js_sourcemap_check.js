// Check JavaScript source maps with acorn: for every token of each output, the
// map must have a segment at its exact line/column, and the source position
// it names must start a token with the same type and text (a string may be a
// reference assetpipe renamed: then its unversioned file name must match).
// Shares nothing with assetpipe: acorn tokenizes, the VLQ decoder is below.
//   usage: node js_sourcemap_check.js LIST.json   (acorn found via NODE_PATH)
//          node js_sourcemap_check.js --positions FILE   (each token's [line, column])
// LIST: [{"out": file, "map": file, "sources": {index: file}?, "unmapped": [[line, col]]?}]
// ("sources" fills in a source the map carries no sourcesContent for;
//  "unmapped": generated positions that may have no segment, a bundle's `;` separators).
// Prints one JSON line per entry: {"out", "checked", "problems": [first 5]}.
"use strict";
const fs = require("fs");
const acorn = require("acorn");

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function decode(mappings) {
  const lines = [];
  const state = [0, 0, 0, 0, 0];
  for (const line of mappings.split(";")) {
    state[0] = 0;
    const row = new Map();
    for (const segment of line.split(",")) {
      if (!segment) continue;
      let value = 0, shift = 0, k = 0;
      for (const ch of segment) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        shift += 5;
        if (!(digit & 32)) {
          state[k++] += value & 1 ? -(value >>> 1) : value >>> 1;
          value = 0; shift = 0;
        }
      }
      if (k >= 4) row.set(state[0], [state[1], state[2], state[3]]);
    }
    lines.push(row);
  }
  return lines;
}

function tokens(text) {
  for (const sourceType of ["script", "module"]) {
    try {
      return [...acorn.tokenizer(text, {ecmaVersion: "latest", sourceType, allowHashBang: true,
                                        locations: true})];
    } catch (e) { /* try the other goal */ }
  }
  throw new Error("acorn cannot tokenize it");
}

// A module specifier assetpipe renamed: "./geo/index" -> "./geo/index.v65cbd891e6.js".
const stem = (raw) => raw.replace(/^["'`]|["'`]$/g, "").replace(/\.v[0-9a-f]{10}(?=\.|$)/, "")
  .split("/").pop().replace(/\.[cm]?js$/, "");

function same(outTok, outText, srcTok, srcText) {
  if (!srcTok || outTok.type.label !== srcTok.type.label) return false;
  const a = outText.slice(outTok.start, outTok.end), b = srcText.slice(srcTok.start, srcTok.end);
  return a === b || (outTok.type === acorn.tokTypes.string && stem(a) === stem(b));
}

function check(entry) {
  const outText = fs.readFileSync(entry.out, "utf8");
  const map = JSON.parse(fs.readFileSync(entry.map, "utf8"));
  const lines = decode(map.mappings);
  const bySource = new Map();
  const source = (i) => {
    if (!bySource.has(i)) {
      const file = (entry.sources || {})[i];
      const text = file ? fs.readFileSync(file, "utf8") : (map.sourcesContent || [])[i];
      const at = new Map();
      for (const t of tokens(text)) {  // an empty template text shares its place with "`"
        const key = `${t.loc.start.line}:${t.loc.start.column}`;
        at.set(key, [...(at.get(key) || []), t]);
      }
      bySource.set(i, {text, at});
    }
    return bySource.get(i);
  };
  const unmapped = new Set((entry.unmapped || []).map(([l, c]) => `${l}:${c}`));
  const problems = [];
  let checked = 0;
  for (const tok of tokens(outText)) {
    if (tok.type === acorn.tokTypes.eof) continue;
    const {line, column} = tok.loc.start;
    const seg = (lines[line - 1] || new Map()).get(column);
    const label = `${line}:${column} ${JSON.stringify(outText.slice(tok.start, tok.end).slice(0, 30))}`;
    if (!seg) {
      if (!unmapped.has(`${line}:${column}`)) problems.push(`${label}: no segment`);
      continue;
    }
    const src = source(seg[0]);
    const candidates = src.at.get(`${seg[1] + 1}:${seg[2]}`) || [];
    checked++;
    if (!candidates.some((srcTok) => same(tok, outText, srcTok, src.text))) {
      problems.push(`${label} -> ${map.sources[seg[0]]}:${seg[1] + 1}:${seg[2]} ` +
                    JSON.stringify(src.text.split("\n")[seg[1]]?.slice(seg[2], seg[2] + 30)));
    }
  }
  return {out: entry.out, checked, problems: problems.slice(0, 5), count: problems.length};
}

function main() {
  if (process.argv[2] === "--positions") {
    const text = fs.readFileSync(process.argv[3], "utf8");
    return [JSON.stringify(tokens(text).filter((t) => t.type !== acorn.tokTypes.eof)
      .map((t) => [t.loc.start.line, t.loc.start.column]))];
  }
  const out = [];
  for (const entry of JSON.parse(fs.readFileSync(process.argv[2], "utf8"))) {
    try { out.push(JSON.stringify(check(entry))); }
    catch (e) { out.push(JSON.stringify({out: entry.out, checked: 0, problems: [String(e)], count: 1})); }
  }
  return out;
}

// No process.exit(): it would cut a piped stdout short.
process.stdout.write(main().join("\n") + "\n");
