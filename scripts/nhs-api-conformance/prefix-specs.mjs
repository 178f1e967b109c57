#!/usr/bin/env node
// Makes Prism-ready copies of NHS Digital's OpenAPI specs.
//
// Prism matches a request against the `paths` keys only (it ignores the base path in `servers`), while our
// emulators serve the APIs under /personal-demographics/FHIR/R4 and /immunisation-fhir-api/FHIR/R4. So each
// root spec gets its path keys prefixed with that base path.
//
// The PDS component files point back into the root (`$ref: '../../personal-demographics.yaml#/components/...'`,
// 71 times) and into sibling files, so the copy keeps the same tree layout: the whole spec folder is copied into
// OUT and only the root file is rewritten in place (same file name). Every relative $ref then resolves exactly as
// it does in the original, and against the prefixed root rather than the unprefixed original.
//
// Only the text of each path key is changed (spliced at the offsets the YAML parser gives), so the copy is
// byte-for-byte the original elsewhere and line numbers in Prism's messages match the published file. The result
// is then checked: parsed, it must equal the original with prefixed path keys.
//
// Usage: node prefix-specs.mjs [SPECS_DIR] [OUT_DIR]
//   SPECS_DIR defaults to /work/shared/nhs-specs, OUT_DIR to ./specs beside this script.
// Prints one JSON line: {"pds": "<root spec path>", "imms": "<root spec path>"}.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const specsDir = path.resolve(process.argv[2] ?? "/work/shared/nhs-specs");
const outDir = path.resolve(process.argv[3] ?? path.join(here, "specs"));

const SPECS = [
  // name, folder copied whole (relative to SPECS_DIR), root spec inside it, prefix for the path keys
  { name: "pds", tree: "personal-demographics", root: "specification/personal-demographics.yaml",
    prefix: "/personal-demographics/FHIR/R4" },
  { name: "imms", tree: "immunisation-fhir-api", root: "specification/immunisation-fhir-api.yaml",
    prefix: "/immunisation-fhir-api/FHIR/R4" },
];

const result = {};
for (const spec of SPECS) {
  const src = path.join(specsDir, spec.tree);
  const dst = path.join(outDir, spec.tree);
  fs.rmSync(dst, { recursive: true, force: true });
  fs.cpSync(src, dst, { recursive: true });
  // The source tree is read-only and copies keep that mode, which would block the rewrite and the next run's rmSync.
  for (const f of walk(dst)) fs.chmodSync(f, fs.statSync(f).isDirectory() ? 0o755 : 0o644);

  const rootFile = path.join(dst, spec.root);
  const text = fs.readFileSync(rootFile, "utf8");
  const doc = YAML.parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length) throw new Error(`${rootFile}: ${doc.errors.join("; ")}`);
  const paths = doc.get("paths");
  if (!YAML.isMap(paths) || paths.items.length === 0) throw new Error(`${rootFile}: no paths`);
  const prefix = spec.prefix.replace(/\/+$/, "");

  // Each key's source range; a quoted key keeps its quotes, the prefix goes right after the opening quote.
  const edits = paths.items.map(({ key }) => {
    if (!YAML.isScalar(key) || typeof key.value !== "string" || !key.value.startsWith("/")) {
      throw new Error(`${rootFile}: path key ${JSON.stringify(key?.value)} is not a string starting with /`);
    }
    if (key.value === prefix || key.value.startsWith(prefix + "/")) throw new Error(`${rootFile}: ${key.value} is already prefixed`);
    if (!["PLAIN", "QUOTE_SINGLE", "QUOTE_DOUBLE"].includes(key.type)) throw new Error(`${rootFile}: unsupported key style ${key.type}`);
    const [start] = key.range;
    return { at: key.type === "PLAIN" ? start : start + 1, key: key.value };
  });
  let out = text;
  for (const { at } of [...edits].sort((a, b) => b.at - a.at)) out = out.slice(0, at) + prefix + out.slice(at);
  fs.writeFileSync(rootFile, out);

  // Check: the copy parses to the original with prefixed path keys and nothing else changed.
  const before = YAML.parse(text);
  const expected = { ...before, paths: Object.fromEntries(Object.entries(before.paths).map(([k, v]) => [prefix + k, v])) };
  if (JSON.stringify(expected) !== JSON.stringify(YAML.parse(out))) throw new Error(`${rootFile}: rewrite changed more than the path keys`);

  result[spec.name] = rootFile;
  process.stderr.write(`${spec.name}: ${rootFile}\n  ${edits.map(e => prefix + e.key).join("\n  ")}\n`);
}
process.stdout.write(JSON.stringify(result) + "\n");

function* walk(dir) {
  yield dir;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(p); else yield p;
  }
}
