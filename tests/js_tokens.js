// Print the JavaScript token stream of a file as JSON lines: [type, value].
// Comments are not tokens here (acorn reports them separately), so a minifier
// that only drops comments and whitespace leaves this stream unchanged.
//   usage: node js_tokens.js FILE        (acorn found via NODE_PATH)
"use strict";
const fs = require("fs");
const acorn = require("acorn");

const text = fs.readFileSync(process.argv[2], "utf8");
const out = [];
for (const tok of acorn.tokenizer(text, {ecmaVersion: "latest", sourceType: "script",
                                         allowHashBang: true})) {
  let value = tok.value;
  if (tok.type === acorn.tokTypes.regexp) value = {pattern: value.pattern, flags: value.flags};
  else if (typeof value === "bigint") value = value.toString() + "n";
  else if (value === undefined) value = null;
  out.push(JSON.stringify([tok.type.label, value]));
}
process.stdout.write(out.join("\n") + "\n");
