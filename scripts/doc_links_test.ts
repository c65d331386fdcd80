import assert from "node:assert/strict";
import { unresolvedLinks } from "./doc_links.ts";

Deno.test("unresolvedLinks() names the targets no export answers to", () => {
  const doc = {
    nodes: {
      "file:///mod.ts": {
        symbols: [
          {
            name: "Session",
            doc: "Runs {@linkcode Session.run} and {@link sh}",
          },
          {
            name: "sh",
            doc: "See {@linkcode runCommand} or {@link https://x.y}",
          },
          {
            name: "More",
            doc: "Also {@linkplain hidden|a word} and {@link Session#x}",
          },
        ],
      },
    },
  };
  assert.deepEqual(unresolvedLinks(doc), ["hidden", "runCommand"]);
});

Deno.test("mod.ts links only to what it exports", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", new URL("../mod.ts", import.meta.url).pathname],
  }).output();
  assert.ok(output.success);
  const doc = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.deepEqual(unresolvedLinks(doc), []);
});
