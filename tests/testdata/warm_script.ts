/**
 * A library script that asks for the warm path: the first client starts the
 * local agent, and once it answers a later client borrows its bridge.
 * Prints each client's path as JSON lines. Arguments: DEST and the ssh
 * config file.
 */
import { SesshClient } from "../../mod.ts";

const [destination, configFile] = Deno.args;
for (let attempt = 0; attempt < 50; attempt++) {
  await using client = await SesshClient.connect({
    destination,
    ssh: { configFile },
    warm: true,
  });
  const result = await client.session("warm").run("echo hi");
  console.log(JSON.stringify({ ...client.path, output: result.output }));
  if (client.path.warm) break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
