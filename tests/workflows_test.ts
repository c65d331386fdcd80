/**
 * The GitHub workflows, which cannot run here: each is checked against the
 * workflow schema (action-validator, from npm, offline), and the release's
 * matrix and commands are held to what `scripts/release.ts` builds and
 * `scripts/release_test.ts` runs.
 */
import assert from "node:assert/strict";
import { validateWorkflow } from "@action-validator/core";
import { TARGETS } from "../scripts/release.ts";

const WORKFLOWS = new URL("../.github/workflows/", import.meta.url).pathname;

/** The schema errors of a workflow, as `path: title` lines. */
function schemaErrors(text: string): string[] {
  const { errors } = validateWorkflow(text) as {
    errors: { path: string; title: string }[];
  };
  return errors.map((error) => `${error.path}: ${error.title}`);
}

Deno.test("every workflow passes the workflow schema", async (t) => {
  const names = [...Deno.readDirSync(WORKFLOWS)].map((e) => e.name).sort();
  assert.deepEqual(names, ["ci.yml", "release.yml"]);
  for (const name of names) {
    await t.step(name, async () => {
      const text = await Deno.readTextFile(`${WORKFLOWS}${name}`);
      assert.deepEqual(schemaErrors(text), []);
    });
  }
});

Deno.test("the schema check finds a broken workflow", async () => {
  const text = await Deno.readTextFile(`${WORKFLOWS}release.yml`);
  const broken = text.replace(
    "runs-on: ubuntu-latest",
    "runs_on: ubuntu-latest",
  );
  assert.notEqual(broken, text);
  assert.notDeepEqual(schemaErrors(broken), []);
});

Deno.test("release.yml builds every target of scripts/release.ts with its commands", async () => {
  const text = await Deno.readTextFile(`${WORKFLOWS}release.yml`);
  const matrix = text.match(/ {8}target:\n((?: {10}- \S+\n)+)/);
  assert.ok(matrix, "a target matrix");
  assert.deepEqual(
    matrix[1].trim().split("\n").map((line) => line.replace(/^\s*- /, "")),
    [...TARGETS],
  );
  // Every deno command is release.ts's (tested in release_test.ts) or the
  // bundle and the publish that jsr_form_test.ts stages and runs dry.
  const deno = [...text.matchAll(/^\s+run: (deno .*)$/gm)].map((m) => m[1]);
  assert.deepEqual(deno, [
    'deno run -A scripts/release.ts check-tag "$GITHUB_REF_NAME"',
    'deno run -A scripts/release.ts compile --target "$TARGET" --outdir release',
    "deno run -A scripts/release.ts sums release",
    "deno task bundle",
    "deno publish",
  ]);
  assert.match(text, /permissions:\n\s+contents: write/);
  assert.match(text, /id-token: write/);
});

Deno.test("ci.yml runs .ci/run", async () => {
  const text = await Deno.readTextFile(`${WORKFLOWS}ci.yml`);
  assert.match(text, /^\s+run: bash \.ci\/run$/m);
});
