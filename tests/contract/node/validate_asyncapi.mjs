// Validate an AsyncAPI document with the official parser (@asyncapi/parser, pinned in package.json).
// Usage: node validate_asyncapi.mjs <document.json>. Prints {errors, warnings} as JSON; exit 1 on errors.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
const pick = (d) => ({ code: d.code, message: d.message, path: d.path.join("/") });
const errors = diagnostics.filter((d) => d.severity === 0).map(pick);
const warnings = diagnostics.filter((d) => d.severity === 1).map(pick);
process.stdout.write(JSON.stringify({ parsed: document !== undefined, errors, warnings }, null, 1) + "\n");
process.exit(errors.length === 0 && document !== undefined ? 0 : 1);
