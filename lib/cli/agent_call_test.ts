import assert from "node:assert/strict";
import { absolutePaths } from "./agent_call.ts";

Deno.test("absolutePaths() makes -i and -F absolute against the caller's directory", () => {
  assert.deepEqual(
    absolutePaths(
      [
        "run",
        "w",
        "box",
        "-F",
        "conf",
        "--identity",
        "keys/id",
        "--",
        "-i",
        "x",
      ],
      "/home/me/",
    ),
    [
      "run",
      "w",
      "box",
      "-F",
      "/home/me/conf",
      "--identity",
      "/home/me/keys/id",
      "--",
      "-i",
      "x",
    ],
  );
});

Deno.test("absolutePaths() leaves absolute, ~ and other values as given", () => {
  const argv = ["status", "w", "box", "-i", "/k", "--config", "~/c", "-o", "a"];
  assert.deepEqual(absolutePaths(argv, "/home/me"), argv);
});
