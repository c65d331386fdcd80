import assert from "node:assert/strict";
import { isMasterCommand } from "./master_pid.ts";

const dest = { host: "box", display: "box" };
const master = (
  log: string,
) => [
  "ssh",
  "-o",
  "ControlPath=/c/%C",
  "-o",
  "ControlMaster=yes",
  "-E",
  log,
  "-f",
  "-N",
  "--",
  "box",
];

Deno.test("isMasterCommand() matches the master of this socket only", () => {
  assert.equal(isMasterCommand(master("/c/aaaa.log"), dest, "/c/aaaa"), true);
  assert.equal(
    isMasterCommand(master("/c/bbbb.log"), dest, "/c/aaaa"),
    false,
    "the same host alias on another port has another socket",
  );
  assert.equal(isMasterCommand(["bash", "-c", "ssh"], dest, "/c/aaaa"), false);
});
