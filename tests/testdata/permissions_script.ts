/**
 * A library script as the README's Permissions paragraph runs it: connects
 * twice (a new master, then the one left up), runs a command, stops the
 * master. Arguments: DEST and the ssh config file.
 */
import { SesshClient } from "../../mod.ts";

const [destination, configFile] = Deno.args;
for (const last of [false, true]) {
  await using client = await SesshClient.connect({
    destination,
    ssh: { configFile },
  });
  const result = await client.session("permissions").run("echo hi");
  console.log(result.output.trim(), result.exitCode);
  if (last) await client.stopMaster();
}
